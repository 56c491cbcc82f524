using System.Globalization;
using System.Text;
using Reinforce.Training;

namespace Reinforce.Cli;

/// <summary>
/// Keeps a long command's redirected output alive: while the command runs, standard output goes through a writer that
/// notes each line, and when <see cref="PrintCadence.Every"/> passes without one (a model being built, a benchmark
/// seed, an evaluation, a step that reports nothing) it prints "... still running `reinforce lm bench` (12 s)". Commands
/// that print their own progress lines through the same <see cref="PrintCadence"/> rule are never interrupted; on a
/// terminal (not redirected) nothing changes.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    private readonly TextWriter _original;
    private readonly TextWriter _out;
    private readonly LineWatcher _watcher;
    private readonly PrintCadence _cadence = new();
    private readonly string _command;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Lock _lock = new();
    private bool _stopped;

    private Heartbeat(string command)
    {
        _command = command;
        _original = Console.Out;
        _cadence.Printed();   // the silence counts from the start
        _watcher = new LineWatcher(_original, _cadence);
        _out = TextWriter.Synchronized(_watcher);
        Console.SetOut(_out);
        var tick = TimeSpan.FromTicks(Math.Clamp(PrintCadence.Every.Ticks / 5, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
        // Its own thread, not a thread-pool timer: a training step that fills the pool (parallel kernels, many
        // environments) is exactly when the beat must still come.
        _thread = new Thread(() => { while (!_stop.Wait(tick)) Beat(); }) { IsBackground = true, Name = "reinforce heartbeat" };
        _thread.Start();
    }

    /// <summary>
    /// Starts the heartbeat for <paramref name="command"/> (the words after `reinforce`) when standard output is
    /// redirected; null on a terminal, for a command that waits on a person or a peer (dashboard, serve-env, render, rlhf label, mpi check),
    /// and on MPI ranks other than 0.
    /// </summary>
    public static Heartbeat? Start(string command) =>
        Console.IsOutputRedirected && !WaitsOnOthers(command) ? new Heartbeat(command) : null;

    private static bool WaitsOnOthers(string command) =>
        command.Length == 0 || command is "dashboard" or "serve-env" or "render" or "rlhf label" or "mpi check" || FollowerRank();

    /// <summary>Whether an MPI launcher started this process as a rank other than 0 (rank 0 speaks for the job).</summary>
    private static bool FollowerRank() =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") ?? Environment.GetEnvironmentVariable("PMIX_RANK") ?? Environment.GetEnvironmentVariable("PMI_RANK"),
            out int rank) && rank > 0;

    private void Beat()
    {
        lock (_lock)
        {
            if (_stopped || !_cadence.Due(milestone: false)) return;
            // Lines stay whole: after a partial line (a prompt, a dot-per-step), the beat starts on the next one.
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{(_watcher.MidLine ? Environment.NewLine : "")}... still running `reinforce {_command}` ({ElapsedText()})"));
        }
    }

    private string ElapsedText() => ProgressLines.FormatTime(_cadence.Now);

    /// <summary>Stops the beat and gives standard output back.</summary>
    public void Dispose()
    {
        lock (_lock) _stopped = true;
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
        _out.Flush();
        if (ReferenceEquals(Console.Out, _out)) Console.SetOut(_original);
    }

    /// <summary>Passes everything through and records each line end on the cadence.</summary>
    private sealed class LineWatcher(TextWriter inner, PrintCadence cadence) : TextWriter
    {
        /// <summary>Whether the last text written left a line unfinished.</summary>
        public bool MidLine { get; private set; }

        public override Encoding Encoding => inner.Encoding;
        public override IFormatProvider FormatProvider => inner.FormatProvider;
        [System.Diagnostics.CodeAnalysis.AllowNull] public override string NewLine { get => inner.NewLine; set => inner.NewLine = value; }

        public override void Write(char value)
        {
            inner.Write(value);
            MidLine = value != '\n';
            if (!MidLine) cadence.Printed();
        }

        public override void Write(string? value)
        {
            inner.Write(value);
            if (string.IsNullOrEmpty(value)) return;
            MidLine = value[^1] != '\n';
            if (value.Contains('\n')) cadence.Printed();
        }

        public override void Write(char[] buffer, int index, int count)
        {
            inner.Write(buffer, index, count);
            if (count == 0) return;
            MidLine = buffer[index + count - 1] != '\n';
            if (Array.IndexOf(buffer, '\n', index, count) >= 0) cadence.Printed();
        }

        public override void WriteLine(string? value)
        {
            inner.WriteLine(value);
            MidLine = false;
            cadence.Printed();
        }

        public override void WriteLine()
        {
            inner.WriteLine();
            MidLine = false;
            cadence.Printed();
        }

        public override void Flush() => inner.Flush();
    }
}
