namespace Bpi.Orchestration.Audit;

/// <summary>
/// The audit store could not do what was asked: invalid options, a damaged file it refuses to repair on its own, an
/// I/O failure, or a store that is closed or faulted. The message says what to do next.
/// </summary>
public sealed class AuditStoreException : Exception
{
    /// <summary>Creates an exception with a message that says what to do next.</summary>
    /// <param name="message">What happened and what to do next.</param>
    public AuditStoreException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What happened and what to do next.</param>
    /// <param name="innerException">The cause.</param>
    public AuditStoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Creates an exception that lists every individual problem (for example every invalid option).</summary>
    /// <param name="message">A summary message.</param>
    /// <param name="errors">Every problem, one sentence each.</param>
    public AuditStoreException(string message, IReadOnlyList<string> errors)
        : base(message + string.Concat((errors ?? []).Select(e => Environment.NewLine + "  - " + e)))
    {
        Errors = errors ?? [];
    }

    /// <summary>Every individual problem; empty when the message says it all.</summary>
    public IReadOnlyList<string> Errors { get; }
}
