namespace Bpi.Orchestration.Security.Checks;

/// <summary>How bad a failed check is. The numeric order is the order of gravity (<see cref="Critical"/> is the highest).</summary>
public enum SecuritySeverity
{
    /// <summary>Hardening that limits the damage of another weakness (score weight 1).</summary>
    Low = 1,

    /// <summary>A weakness that widens what an attacker inside the container can do (score weight 2).</summary>
    Medium = 2,

    /// <summary>A weakness that can expose the host or the data on its own (score weight 5; caps the score at 6.9).</summary>
    High = 3,

    /// <summary>A direct path to the host or the orchestrator (score weight 10; caps the score at 3.9).</summary>
    Critical = 4,
}

/// <summary>The result of one check on one container or deployment.</summary>
public enum CheckOutcome
{
    /// <summary>The check was evaluated and the setting is safe.</summary>
    Passed = 0,

    /// <summary>The check was evaluated and the setting is unsafe: a finding.</summary>
    Failed,

    /// <summary>The check could not be evaluated (the fact it needs is unknown, or it does not apply); it counts neither for nor against the score.</summary>
    NotApplicable,
}

/// <summary>What a check looks at.</summary>
public enum CheckScope
{
    /// <summary>The settings of one container (evaluated per component or per running container).</summary>
    Container = 0,

    /// <summary>The image a container runs.</summary>
    Image,

    /// <summary>Settings of the deployment as a whole (encryption, TLS).</summary>
    Deployment,
}

/// <summary>A published control or rule a check corresponds to, with the version of the document it is taken from.</summary>
/// <param name="Standard">The document, for example <c>CIS Docker Benchmark</c>, <c>Kubernetes Pod Security Standards</c> or <c>Trivy</c>.</param>
/// <param name="Version">The version of the document, for example <c>v1.6.0</c>.</param>
/// <param name="Id">The control's id in that document, for example <c>5.5</c>, <c>restricted/runAsNonRoot</c> or <c>KSV-0017</c>.</param>
public sealed record CheckReference(string Standard, string Version, string Id)
{
    /// <summary>The CIS Docker Benchmark.</summary>
    public const string CisDocker = "CIS Docker Benchmark";

    /// <summary>The Kubernetes Pod Security Standards.</summary>
    public const string PodSecurityStandards = "Kubernetes Pod Security Standards";

    /// <summary>Aqua Security Trivy's misconfiguration checks.</summary>
    public const string Trivy = "Trivy";

    /// <summary>NIST SP 800-190, Application Container Security Guide.</summary>
    public const string Nist800190 = "NIST SP 800-190";

    /// <inheritdoc />
    public override string ToString() => $"{Standard} {Version} {Id}";
}

/// <summary>
/// One check of the catalogue (<see cref="SecurityCheckCatalog"/>): a stable id of our own (<c>BPI-SEC-001</c> …), what it
/// looks for, why it matters, how to fix it, and the published controls it corresponds to.
/// </summary>
public sealed record SecurityCheck
{
    /// <summary>The stable id, <c>BPI-SEC-</c> and three digits. Ids are never reused for another meaning.</summary>
    public required string Id { get; init; }

    /// <summary>A short title naming the unsafe condition, for example "Privileged container".</summary>
    public required string Title { get; init; }

    /// <summary>How bad a failure is.</summary>
    public required SecuritySeverity Severity { get; init; }

    /// <summary>What the check covers.</summary>
    public required CheckScope Scope { get; init; }

    /// <summary>Why the condition is a risk.</summary>
    public required string Rationale { get; init; }

    /// <summary>How to fix it.</summary>
    public required string Remediation { get; init; }

    /// <summary>The published controls this check corresponds to (CIS Docker Benchmark, Pod Security Standards, Trivy).</summary>
    public IReadOnlyList<CheckReference> References { get; init; } = [];

    /// <summary>The score weight of <see cref="Severity"/>: critical 10, high 5, medium 2, low 1.</summary>
    public int Weight => SecurityScore.WeightOf(Severity);

    /// <inheritdoc />
    public override string ToString() => $"{Id} ({Severity}) {Title}";
}
