using Bpi.Orchestration.Recording;

namespace Bpi.Orchestration.Core.Tests.Vm;

/// <summary>The gate that lets one writer at a time save a deployment's record.</summary>
public sealed class SaveGateTests
{
    [Fact]
    public async Task Writers_enter_one_at_a_time_in_the_order_they_came()
    {
        using var gate = new SaveGate();
        await gate.EnterAsync(CancellationToken.None);
        var second = gate.EnterAsync(CancellationToken.None).AsTask();
        var third = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted);

        gate.Exit();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(third.IsCompleted);

        gate.Exit();
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        gate.Exit();

        // Free again: entered at once.
        var free = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.True(free.IsCompletedSuccessfully);
        gate.Exit();
    }

    [Fact]
    public async Task A_cancelled_waiter_passes_its_turn_on_and_never_lets_two_writers_in()
    {
        using var gate = new SaveGate();
        using var cancel = new CancellationTokenSource();
        await gate.EnterAsync(CancellationToken.None);
        var cancelled = gate.EnterAsync(cancel.Token).AsTask();
        var next = gate.EnterAsync(CancellationToken.None).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(next.IsCompleted); // the holder still holds it

        gate.Exit(); // to the cancelled waiter, which hands it on
        await next.WaitAsync(TimeSpan.FromSeconds(10));

        // next holds the gate: a newcomer waits.
        var after = gate.EnterAsync(CancellationToken.None).AsTask();
        Assert.False(after.IsCompleted);
        gate.Exit();
        await after.WaitAsync(TimeSpan.FromSeconds(10));
        gate.Exit();
    }

    [Fact]
    public async Task Many_writers_never_overlap()
    {
        using var gate = new SaveGate();
        var inside = 0;
        var overlaps = 0;
        var done = 0;
        async Task WriterAsync()
        {
            for (var i = 0; i < 200; i++)
            {
                await gate.EnterAsync(CancellationToken.None);
                if (Interlocked.Increment(ref inside) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                await Task.Yield();
                Interlocked.Decrement(ref inside);
                Interlocked.Increment(ref done);
                gate.Exit();
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(WriterAsync))).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, overlaps);
        Assert.Equal(1600, done);
    }
}
