namespace Bpi.Orchestration;

/// <summary>
/// The one exception type the SDK throws for failures a caller can act on. <see cref="Kind"/> says what went wrong;
/// <see cref="Errors"/> lists every individual problem (for example, every invalid field of a spec).
/// </summary>
public class OrchestrationException : Exception
{
    /// <summary>Creates an exception with a kind and a message that says what to do next.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="message">A message that says what happened and what to do next.</param>
    public OrchestrationException(OrchestrationErrorKind kind, string message)
        : this(kind, message, errors: null, innerException: null)
    {
    }

    /// <summary>Creates an exception with a kind, a message and the inner exception that caused it.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="message">A message that says what happened and what to do next.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public OrchestrationException(OrchestrationErrorKind kind, string message, Exception? innerException)
        : this(kind, message, errors: null, innerException)
    {
    }

    /// <summary>Creates an exception with a kind, a message and the list of individual problems.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="message">A summary message.</param>
    /// <param name="errors">Every individual problem; an empty list when there is only the message.</param>
    /// <param name="innerException">The exception that caused this one, if any.</param>
    public OrchestrationException(OrchestrationErrorKind kind, string message, IReadOnlyList<string>? errors, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        Errors = errors ?? [];
    }

    /// <summary>What went wrong.</summary>
    public OrchestrationErrorKind Kind { get; }

    /// <summary>Every individual problem, one sentence each. Empty when the message says it all.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>Whether retrying the same operation may succeed (an engine was unreachable or overloaded).</summary>
    public virtual bool IsTransient => Kind == OrchestrationErrorKind.RuntimeUnavailable;

    /// <summary>
    /// How the failure should be treated by retries and circuit breakers (see <see cref="Resilience.FaultClassifier"/>):
    /// from an HTTP status among its causes, else from <see cref="Kind"/>. Subclasses that know the target's answer refine it.
    /// </summary>
    public virtual Resilience.FaultClass FaultClass => Resilience.FaultClassifier.ClassifyOrchestration(this);

    /// <summary>Builds an <see cref="OrchestrationErrorKind.InvalidConfiguration"/> exception listing every problem.</summary>
    /// <param name="subject">What was validated, for example <c>deployment spec 'web'</c>.</param>
    /// <param name="errors">Every problem found; must not be empty.</param>
    /// <returns>The exception, ready to throw.</returns>
    public static OrchestrationException InvalidConfiguration(string subject, IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var message = $"{subject} is invalid ({errors.Count} problem{(errors.Count == 1 ? "" : "s")}); fix every item and try again:"
            + string.Concat(errors.Select(e => Environment.NewLine + "  - " + e));
        return new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, message, errors);
    }
}
