namespace Reinforce.Algorithms;

/// <summary>
/// The memory of a recurrent policy for a number of environment copies (or of agents a user acts for): the recurrent
/// layer's state tensors (h, and c for an LSTM), each [layers, copies, hidden], as PyTorch lays them out.
/// <see cref="PolicyState.Reset"/> zeroes one copy (its episode ended). Made by <see cref="IPolicy.CreateState"/>;
/// keep one per stream of observations and pass it to every <c>Predict</c>/<c>Act</c> call of that stream.
/// </summary>
public sealed class RecurrentPolicyState : PolicyState
{
    internal RecurrentPolicyState(IReadOnlyList<string> names, int layers, int copies, int hidden)
    {
        ArgumentNullException.ThrowIfNull(names);
        _names = [.. names];
        Layers = layers;
        Hidden = hidden;
        Copies = copies;
        Tensors = new float[names.Count][];
        for (int i = 0; i < Tensors.Length; i++) Tensors[i] = new float[layers * copies * hidden];
    }

    private readonly string[] _names;

    /// <summary>The state tensors' names ("h", "c").</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Stacked recurrent layers.</summary>
    public int Layers { get; }

    /// <summary>Units per layer.</summary>
    public int Hidden { get; }

    /// <inheritdoc/>
    public override int Copies { get; }

    /// <summary>The state tensors, each [layers, copies, hidden] row-major.</summary>
    internal float[][] Tensors { get; }

    /// <summary>The values of state tensor <paramref name="name"/> ("h" or "c") as [layers, copies, hidden], a copy.</summary>
    public float[] Get(string name) => (float[])Tensors[IndexOf(name)].Clone();

    /// <summary>Sets state tensor <paramref name="name"/> from [layers, copies, hidden] values (e.g. from an exported model's state output).</summary>
    public void Set(string name, ReadOnlySpan<float> values)
    {
        var t = Tensors[IndexOf(name)];
        if (values.Length != t.Length)
            throw new ArgumentException($"RecurrentPolicyState.Set('{name}'): {values.Length} values, but [layers {Layers}, copies {Copies}, hidden {Hidden}] needs {t.Length}.", nameof(values));
        values.CopyTo(t);
    }

    /// <summary>A copy of the whole state (for example the state at the start of a rollout).</summary>
    public RecurrentPolicyState Clone()
    {
        var copy = new RecurrentPolicyState(Names, Layers, Copies, Hidden);
        for (int i = 0; i < Tensors.Length; i++) Tensors[i].CopyTo(copy.Tensors[i], 0);
        return copy;
    }

    /// <summary>Copies every tensor's values from <paramref name="other"/> (same sizes).</summary>
    public void CopyFrom(RecurrentPolicyState other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (int i = 0; i < Tensors.Length; i++) other.Tensors[i].CopyTo(Tensors[i], 0);
    }

    /// <summary>Copies stream <paramref name="copy"/>'s memory (every tensor, every layer) into stream <paramref name="destinationCopy"/> of <paramref name="destination"/> (same layers and units).</summary>
    public void CopyStream(int copy, RecurrentPolicyState destination, int destinationCopy)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if ((uint)copy >= (uint)Copies || (uint)destinationCopy >= (uint)destination.Copies || destination.Layers != Layers || destination.Hidden != Hidden || destination.Tensors.Length != Tensors.Length)
            throw new ArgumentException($"RecurrentPolicyState.CopyStream: stream {copy} of [{Layers}, {Copies}, {Hidden}] cannot go to stream {destinationCopy} of [{destination.Layers}, {destination.Copies}, {destination.Hidden}].");
        for (int i = 0; i < Tensors.Length; i++)
            for (int l = 0; l < Layers; l++)
                Array.Copy(Tensors[i], (l * Copies + copy) * Hidden, destination.Tensors[i], (l * destination.Copies + destinationCopy) * Hidden, Hidden);
    }

    /// <inheritdoc/>
    public override void Reset(int copy)
    {
        if ((uint)copy >= (uint)Copies) throw new ArgumentOutOfRangeException(nameof(copy), copy, $"RecurrentPolicyState.Reset: copy {copy} is outside [0, {Copies}).");
        foreach (var t in Tensors)
            for (int l = 0; l < Layers; l++) Array.Clear(t, (l * Copies + copy) * Hidden, Hidden);
    }

    private int IndexOf(string name)
    {
        int i = Array.IndexOf(_names, name);
        if (i < 0) throw new ArgumentException($"RecurrentPolicyState: no state tensor '{name}'; it has {string.Join(", ", Names)}.", nameof(name));
        return i;
    }
}
