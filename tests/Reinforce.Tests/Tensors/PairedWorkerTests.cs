using Reinforce.Tensors;

namespace Reinforce.Tests.Tensors;

public class PairedWorkerTests
{
    private sealed class Piece(Action action) : IPairedWork
    {
        public int Runs;
        public int Thread;

        public void Run()
        {
            Thread = Environment.CurrentManagedThreadId;
            Runs++;
            action();
        }
    }

    [Fact]
    public void Every_posted_piece_runs_exactly_once_on_the_worker_or_the_owner()
    {
        using var worker = new PairedWorker();
        long sum = 0;
        var piece = new Piece(() => sum++);
        int owner = Environment.CurrentManagedThreadId;
        int onWorker = 0;
        for (int i = 0; i < 2000; i++)
        {
            worker.Post(piece);
            if (i % 2 == 0) Thread.SpinWait(2000);   // sometimes give the worker time to take it
            worker.Wait();
            if (piece.Thread != owner) onWorker++;
        }
        Assert.Equal(2000, piece.Runs);
        Assert.Equal(2000, sum);
        Assert.Equal(2000, worker.RunByWorker + worker.RunByOwner);
        Assert.Equal(onWorker, worker.RunByWorker);
        Assert.True(worker.RunByWorker > 0, "the worker thread never took a piece");
    }

    [Fact]
    public void A_piece_that_throws_on_the_worker_rethrows_in_Wait_and_the_worker_goes_on()
    {
        using var worker = new PairedWorker();
        var failing = new Piece(() => throw new InvalidOperationException("boom"));
        int thrown = 0;
        for (int i = 0; i < 200; i++)
        {
            worker.Post(failing);
            Thread.SpinWait(5000);
            var e = Record.Exception(worker.Wait);
            if (e is InvalidOperationException { Message: "boom" }) thrown++;
        }
        Assert.Equal(200, thrown);   // on whichever thread it ran
        Assert.True(worker.RunByWorker > 0, "no piece threw on the worker thread");
        var ok = new Piece(() => { });
        worker.Post(ok);
        worker.Wait();
        Assert.Equal(1, ok.Runs);
    }

    [Fact]
    public void Cancel_leaves_a_piece_run_once_or_not_at_all_and_never_later()
    {
        using var worker = new PairedWorker();
        for (int i = 0; i < 500; i++)
        {
            var piece = new Piece(() => Thread.SpinWait(100));
            worker.Post(piece);
            if (i % 3 == 0) Thread.SpinWait(3000);
            worker.Cancel();
            int runs = piece.Runs;
            Assert.InRange(runs, 0, 1);
            Thread.SpinWait(2000);
            Assert.Equal(runs, piece.Runs);   // nothing after Cancel returned
        }
        var after = new Piece(() => { });   // and the worker still takes pieces
        worker.Post(after);
        worker.Wait();
        Assert.Equal(1, after.Runs);
    }

    [Fact]
    public void An_idle_worker_ends_its_thread_and_the_next_post_starts_another()
    {
        using var worker = new PairedWorker { SpinTime = TimeSpan.FromMicroseconds(50), IdleTime = TimeSpan.FromMilliseconds(50) };
        var piece = new Piece(() => { });
        worker.Post(piece);
        worker.Wait();
        Assert.Equal(1, worker.ThreadsStarted);
        Thread.Sleep(400);   // well past spin and idle time
        worker.Post(piece);
        worker.Wait();
        Assert.Equal(2, worker.ThreadsStarted);
        Assert.Equal(2, piece.Runs);
    }

    [Fact]
    public void Posting_twice_without_waiting_is_refused()
    {
        using var worker = new PairedWorker();
        var slow = new Piece(() => Thread.Sleep(20));
        worker.Post(slow);
        Assert.Throws<InvalidOperationException>(() => worker.Post(slow));
        worker.Wait();
        Assert.Equal(1, slow.Runs);
    }
}
