namespace Bpi.Orchestration.Rollout;

/// <summary>The signals a person sends to one running rollout: abort, pause/resume, promote, approve/reject.</summary>
internal sealed class RolloutControl : IDisposable
{
    private readonly Lock _gate;
    private readonly CancellationTokenSource _abort = new();
    private CancellationTokenSource? _force; // made when a rollback asks for it or a forced abort comes: most rollouts need neither
    private TaskCompletionSource? _resumed;
    private TaskCompletionSource? _promotion;
    private ApprovalWait? _approval;
    private volatile bool _aborted;

    private readonly IPauseListener? _pauseChanged;

    /// <summary>Creates the control of one rollout.</summary>
    /// <param name="pauseChanged">Called (outside the lock) when the rollout is paused (<see langword="true"/>) or resumed.</param>
    /// <param name="gate">The lock to take: the deployment's (<see cref="DeploymentEntry.Gate"/>), or one of its own when <see langword="null"/>.</param>
    public RolloutControl(IPauseListener? pauseChanged = null, Lock? gate = null)
    {
        _pauseChanged = pauseChanged;
        _gate = gate ?? new Lock();
    }

    /// <summary>Cancelled when the rollout is aborted or the orchestrator stops (<see cref="Stop"/>); <see cref="IsAborted"/> tells which.</summary>
    public CancellationToken AbortToken => _abort.Token;

    /// <summary>Cancelled by a forced abort (a destroy): stops even a rollback.</summary>
    public CancellationToken ForceToken
    {
        get
        {
            lock (_gate)
            {
                return (_force ??= new CancellationTokenSource()).Token;
            }
        }
    }

    public string? AbortReason { get; private set; }

    public bool ForceAbort { get; private set; }

    public bool IsAborted => _aborted;

    // The waits below are set and cleared under the lock; a reader needs only the latest reference, so it reads it
    // without the lock (the executor asks "paused?" before every step, status asks all three).
    public bool IsPaused => Volatile.Read(ref _resumed) is not null;

    public string? WaitingForGate => Volatile.Read(ref _approval)?.Gate;

    public bool WaitingForPromotion => Volatile.Read(ref _promotion) is not null;

    public void Abort(string reason, bool force)
    {
        TaskCompletionSource? paused;
        CancellationTokenSource? forced = null;
        lock (_gate)
        {
            if (!_aborted)
            {
                AbortReason = reason;
            }

            _aborted = true;

            ForceAbort |= force;
            if (force)
            {
                forced = _force ??= new CancellationTokenSource();
            }

            // An abort ends a pause, so the rollback that follows is not held by it.
            paused = _resumed;
            _resumed = null;
        }

        paused?.TrySetResult();

        _abort.Cancel();
        forced?.Cancel();
    }

    /// <summary>
    /// The orchestrator is stopping: cancels <see cref="AbortToken"/> so the rollout stops where it stands (its cursor is
    /// stored and it resumes on the next start). Not an abort: <see cref="IsAborted"/> stays false. One cancellation
    /// per rollout at stop, instead of a token linked to the orchestrator's for every rollout.
    /// </summary>
    public void Stop() => _abort.Cancel();

    /// <summary>Whether <see cref="StopLost"/> stopped the run: this instance lost the deployment to another one.</summary>
    public bool IsLost { get; private set; }

    /// <summary>
    /// This instance lost (or is about to lose) the deployment's lease: stops the run where it stands, a rollback too
    /// (both tokens are cancelled). Not an abort: the next owner resumes the run at its stored cursor.
    /// </summary>
    public void StopLost()
    {
        CancellationTokenSource forced;
        lock (_gate)
        {
            IsLost = true;
            forced = _force ??= new CancellationTokenSource();
        }

        _abort.Cancel();
        forced.Cancel();
    }

    public bool Pause(string reason)
    {
        lock (_gate)
        {
            if (_resumed is not null)
            {
                return false;
            }

            _resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        _pauseChanged?.PauseChanged(true, reason);
        return true;
    }

    public bool Resume(string reason)
    {
        TaskCompletionSource? resumed;
        lock (_gate)
        {
            resumed = _resumed;
            _resumed = null;
        }

        if (resumed is null)
        {
            return false;
        }

        _pauseChanged?.PauseChanged(false, reason);
        resumed.TrySetResult();
        return true;
    }

    public Task WaitWhilePausedAsync(CancellationToken cancellationToken)
    {
        var wait = Volatile.Read(ref _resumed)?.Task;
        return wait is null ? Task.CompletedTask : wait.WaitAsync(cancellationToken);
    }

    /// <summary>Waits for <paramref name="duration"/> (or indefinitely when <see langword="null"/>) unless promoted first.</summary>
    public async Task WaitForPromotionAsync(TimeSpan? duration, TimeProvider time, CancellationToken cancellationToken)
    {
        var promotion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _promotion = promotion;
        }

        try
        {
            if (duration is { } d)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(d, time, timeout.Token);
                var first = await Task.WhenAny(delay, promotion.Task).ConfigureAwait(false);
                // Synchronously (not CancelAsync): the rollout goes on on the thread that ended the wait, so a
                // manual clock's Advance runs it to its next wait before returning instead of racing a pool thread.
                CancelInline(timeout);
                if (first == delay)
                {
                    await IgnoreCancellation(delay).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
            else
            {
                await promotion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_gate)
            {
                if (ReferenceEquals(_promotion, promotion))
                {
                    _promotion = null;
                }
            }
        }
    }

    public bool TryPromote() => Volatile.Read(ref _promotion)?.TrySetResult() ?? false;

    public Task<ApprovalResult> WaitForApprovalAsync(string gate, int required, TimeSpan? timeout, TimeProvider time, CancellationToken cancellationToken)
        => WaitForApprovalAsync(gate, new ApprovalWaitOptions { RequiredApprovals = required, Timeout = timeout }, time, cancellationToken);

    public async Task<ApprovalResult> WaitForApprovalAsync(string gate, ApprovalWaitOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var wait = new ApprovalWait(gate, options);
        var timeout = options.Timeout;
        lock (_gate)
        {
            _approval = wait;
        }

        try
        {
            if (timeout is { } t)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(t, time, cts.Token);
                var first = await Task.WhenAny(delay, wait.Decision.Task).ConfigureAwait(false);
                CancelInline(cts);
                if (first == delay)
                {
                    await IgnoreCancellation(delay).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();

                    // Close the gate before calling it a timeout: a decision recorded first (its approver was told it
                    // counted) wins; any decision after this is refused with a clear error.
                    if (wait.TryCloseOnTimeout(out var approvers))
                    {
                        return new ApprovalResult(ApprovalOutcome.TimedOut, approvers, null);
                    }
                }
            }

            return await wait.Decision.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                if (ReferenceEquals(_approval, wait))
                {
                    _approval = null;
                }
            }
        }
    }

    /// <summary>Records one approver's decision. Returns how many distinct approvals the gate has, or throws when the rollout does not wait at that gate.</summary>
    public int Decide(string gate, string actor, bool approve, string? comment)
    {
        var wait = Volatile.Read(ref _approval);
        if (wait is null || !string.Equals(wait.Gate, gate, StringComparison.Ordinal))
        {
            throw new OrchestrationException(
                OrchestrationErrorKind.Conflict,
                wait is null
                    ? $"The rollout does not wait at approval gate '{gate}' now; check the deployment's current step with GetStatusAsync."
                    : $"The rollout waits at approval gate '{wait.Gate}', not '{gate}'.");
        }

        return wait.Record(actor, approve, comment);
    }

    public void Dispose()
    {
        _abort.Dispose();
        _force?.Dispose();
    }

    /// <summary>
    /// Cancels on this thread. The waits here cancel only their own timer (or a sibling that ends at once), so
    /// there is nothing to offload; CancelAsync would move the rest of the rollout to a pool thread, and a test
    /// driving a manual clock would then advance it while the rollout is still on its way to its next wait.
    /// </summary>
    internal static void CancelInline(CancellationTokenSource source) => source.Cancel();

    private static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private sealed class ApprovalWait(string gate, ApprovalWaitOptions options)
    {
        private readonly Lock _gate = new();
        private readonly List<string> _approvers = [.. options.ApprovedBy.Distinct(StringComparer.Ordinal)];
        private readonly int _required = options.RequiredApprovals;

        public string Gate { get; } = gate;

        public TaskCompletionSource<ApprovalResult> Decision { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<string> Approvers
        {
            get
            {
                lock (_gate)
                {
                    return [.. _approvers];
                }
            }
        }

        private bool _closed;

        /// <summary>Ends the wait as timed out unless a decision completed it first; returns the approvals so far.</summary>
        public bool TryCloseOnTimeout(out IReadOnlyList<string> approvers)
        {
            lock (_gate)
            {
                approvers = [.. _approvers];
                if (Decision.Task.IsCompleted)
                {
                    return false;
                }

                _closed = true;
                return true;
            }
        }

        public int Record(string actor, bool approve, string? comment)
        {
            if (approve && options.ApproverCheck?.Invoke(actor) is { } refusal)
            {
                throw new OrchestrationException(OrchestrationErrorKind.Unauthorized, $"'{actor}' may not approve gate '{Gate}': {refusal}");
            }

            lock (_gate)
            {
                if (_closed)
                {
                    throw new OrchestrationException(
                        OrchestrationErrorKind.Conflict,
                        $"Approval gate '{Gate}' timed out before this decision arrived; it was not counted. Check the deployment's status for how the gate escalated.");
                }

                if (!approve)
                {
                    Decision.TrySetResult(new ApprovalResult(ApprovalOutcome.Rejected, [.. _approvers], $"rejected by {actor}" + (string.IsNullOrWhiteSpace(comment) ? "" : $": {comment}")));
                    return _approvers.Count;
                }

                if (!_approvers.Contains(actor, StringComparer.Ordinal))
                {
                    _approvers.Add(actor);
                }

                if (_approvers.Count >= _required)
                {
                    Decision.TrySetResult(new ApprovalResult(ApprovalOutcome.Approved, [.. _approvers], comment));
                }

                return _approvers.Count;
            }
        }
    }
}

/// <summary>How a step waits at an approval gate (see <see cref="RolloutStepContext.WaitForApprovalAsync(string, ApprovalWaitOptions, CancellationToken)"/>).</summary>
public sealed record ApprovalWaitOptions
{
    /// <summary>How many distinct approvers are needed.</summary>
    /// <value>The default value is 1.</value>
    public int RequiredApprovals { get; init; } = 1;

    /// <summary>How long to wait before the wait ends with <see cref="ApprovalOutcome.TimedOut"/>; <see langword="null"/> waits indefinitely.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Approvals carried over from an earlier wait at the same gate (for example before an escalation), counted towards <see cref="RequiredApprovals"/>.</summary>
    /// <value>The default value is empty.</value>
    public IReadOnlyList<string> ApprovedBy { get; init; } = [];

    /// <summary>Checks an approver before the approval counts: returns why the actor may not approve, or <see langword="null"/> to accept. A refusal is thrown to the approver as <see cref="OrchestrationErrorKind.Unauthorized"/>.</summary>
    /// <value>The default value is <see langword="null"/> (everyone may approve).</value>
    public Func<string, string?>? ApproverCheck { get; init; }
}

/// <summary>How an approval gate ended.</summary>
public enum ApprovalOutcome
{
    /// <summary>Enough distinct approvers approved.</summary>
    Approved = 0,

    /// <summary>Someone rejected.</summary>
    Rejected,

    /// <summary>Nobody decided in time.</summary>
    TimedOut,
}

/// <summary>The outcome of an approval gate.</summary>
/// <param name="Outcome">Approved, rejected or timed out.</param>
/// <param name="Approvers">The distinct approvers, in order.</param>
/// <param name="Detail">The rejection reason or the last comment.</param>
public sealed record ApprovalResult(ApprovalOutcome Outcome, IReadOnlyList<string> Approvers, string? Detail);

/// <summary>Told (outside the control's lock) when a person pauses or resumes a rollout.</summary>
internal interface IPauseListener
{
    /// <summary>The rollout was paused (<see langword="true"/>) or resumed.</summary>
    /// <param name="paused">Whether it is paused now.</param>
    /// <param name="reason">Why, as said by whoever did it.</param>
    void PauseChanged(bool paused, string reason);
}
