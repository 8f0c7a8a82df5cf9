namespace Bpi.Orchestration.Resilience;

/// <summary>
/// How a failed call to a runtime, a router or a metric provider should be treated: whether trying again may help and
/// whether it says anything about the health of the target. <see cref="FaultClassifier"/> assigns it.
/// </summary>
public enum FaultClass
{
    /// <summary>Nothing is known about the failure; it is neither retried nor counted against the target's circuit.</summary>
    Unknown = 0,

    /// <summary>The target could not be reached or failed on its side (5xx, a timeout, a refused or reset connection); retrying may succeed.</summary>
    Transient,

    /// <summary>The target is up but refuses work for now (HTTP 429 or 503); retry later, more slowly.</summary>
    Throttled,

    /// <summary>The request itself is wrong (4xx, a validation error, a missing resource); retrying the same call fails again.</summary>
    Permanent,
}
