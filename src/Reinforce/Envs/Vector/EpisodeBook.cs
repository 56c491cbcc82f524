namespace Reinforce.Envs.Vector;

/// <summary>
/// The step buffers and episode bookkeeping of a vector environment whose copies live elsewhere (a
/// <see cref="Remote.RemoteVectorEnv"/>'s servers, a Unity scene): observations, rewards, terminated and truncated
/// flags and final observations per copy, each copy's running return and length, and the episodes a step completed.
/// Local vector environments keep theirs in <see cref="VectorEnv"/>.
/// </summary>
internal sealed class EpisodeBook(int copies, int observationSize)
{
    private readonly double[] _return = new double[copies];
    private readonly int[] _length = new int[copies];
    private readonly List<EpisodeRecord> _completed = [];

    public float[] Observations { get; } = new float[copies * observationSize];
    public float[] FinalObservations { get; } = new float[copies * observationSize];
    public float[] Rewards { get; } = new float[copies];
    public bool[] Terminated { get; } = new bool[copies];
    public bool[] Truncated { get; } = new bool[copies];

    /// <summary>The episodes the last step completed.</summary>
    public EpisodeRecord[] Completed { get; private set; } = [];

    /// <summary>Copy <paramref name="copy"/>'s row of the observations.</summary>
    public Span<float> ObservationRow(int copy) => Observations.AsSpan(copy * observationSize, observationSize);

    /// <summary>Copy <paramref name="copy"/>'s row of the final observations.</summary>
    public Span<float> FinalObservationRow(int copy) => FinalObservations.AsSpan(copy * observationSize, observationSize);

    /// <summary>The final observation of a copy that finished an episode in the last step; <paramref name="owner"/> names the environment in the error.</summary>
    public ReadOnlySpan<float> FinalObservation(int copy, object owner)
    {
        if ((uint)copy >= (uint)copies) throw new ArgumentOutOfRangeException("envIndex", copy, $"{owner}: there are {copies} environments (indices 0 to {copies - 1}).");
        if (!(Terminated[copy] || Truncated[copy])) throw new InvalidOperationException($"{owner}: environment {copy} did not finish an episode in the last step, so it has no final observation; check Terminated or Truncated first.");
        return FinalObservationRow(copy);
    }

    /// <summary>All episodes start afresh: no return, length, reward, flag or completed episode.</summary>
    public void Reset()
    {
        Array.Clear(_return);
        Array.Clear(_length);
        BeginStep();
        Completed = [];
    }

    /// <summary>Clears the step's rewards, flags and completed episodes.</summary>
    public void BeginStep()
    {
        Array.Clear(Rewards);
        Array.Clear(Terminated);
        Array.Clear(Truncated);
        _completed.Clear();
    }

    /// <summary>Adds <paramref name="reward"/> to the copy's step reward and episode return; <paramref name="counts"/>: the copy took a step (its length grows).</summary>
    public void AddReward(int copy, float reward, bool counts = true)
    {
        Rewards[copy] += reward;
        _return[copy] += reward;
        if (counts) _length[copy]++;
    }

    /// <summary>The copy's episode ended in this step: flags set, the episode recorded and the copy's return and length restarted.</summary>
    public void Finish(int copy, bool terminated, bool truncated)
    {
        Terminated[copy] = terminated;
        Truncated[copy] = truncated;
        _completed.Add(new EpisodeRecord(copy, _return[copy], _length[copy], terminated));
        _return[copy] = 0;
        _length[copy] = 0;
    }

    /// <summary>Publishes the step's completed episodes.</summary>
    public void EndStep() => Completed = _completed.ToArray();
}
