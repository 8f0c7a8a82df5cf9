using System.Text.RegularExpressions;

namespace Bpi.Orchestration.PostgreSql;

/// <summary>How the orchestrator's shared state on PostgreSQL is reached and how ownership of deployments behaves.</summary>
public sealed partial class PostgreSqlStateOptions
{
    /// <summary>The Npgsql connection string of the database every instance shares (required).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema that holds the tables; created at start when missing.</summary>
    /// <value>The default value is <c>bpi_orchestration</c>.</value>
    public string Schema { get; set; } = "bpi_orchestration";

    /// <summary>
    /// This instance's name in the lease table: unique per running process (two processes with one name would both
    /// believe they own the same deployments). Empty means a fresh one per process.
    /// </summary>
    /// <value>The default value is empty: the machine name, the process id and 8 random hex digits.</value>
    public string InstanceId { get; set; } = "";

    /// <summary>How long a lease on a deployment lasts without renewal; another instance takes the deployment over after it.</summary>
    /// <value>The default value is 15 seconds.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the owner renews its leases (must be well below <see cref="LeaseDuration"/>).</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long before its lease expires an instance that could not renew stops acting on the deployment (a margin for
    /// clock drift between instances and for the time a write takes).
    /// </summary>
    /// <value>The default value is 3 seconds.</value>
    public TimeSpan LeaseSafetyMargin { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often an instance looks for deployments without a live owner when no notification wakes it.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a confirmation that this instance still owns a deployment (checked against the lease row before each
    /// step and each runtime call of a rollout or repair) is reused before the next check reads the database again; never
    /// past the moment the instance stops acting on its lease (expiry minus <see cref="LeaseSafetyMargin"/>). Zero checks
    /// every time.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan OwnershipConfirmationCache { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an instance that received a command (pause, resume, abort, promote, approve, reject, scale, destroy) for a
    /// deployment another instance owns waits for the owner to run it and report the outcome; after it the caller gets
    /// <see cref="OrchestrationErrorKind.Timeout"/> (the command stays queued and may still run).
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long commands sent to an owner are kept in the <c>commands</c> table (their outcome, for retries with the same idempotency key); older ones are deleted.</summary>
    /// <value>The default value is 1 day.</value>
    public TimeSpan CommandRetention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Every problem with the options, or an empty list.</summary>
    /// <returns>The problems.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("ConnectionString is required: the Npgsql connection string of the shared database (for example Host=db;Username=bpi;Password=…;Database=bpi).");
        }

        if (!SchemaName().IsMatch(Schema ?? ""))
        {
            errors.Add($"Schema '{Schema}' must be a lowercase SQL identifier: a letter or '_' then letters, digits or '_', at most 63 characters.");
        }

        if (LeaseDuration < TimeSpan.FromSeconds(1))
        {
            errors.Add($"LeaseDuration must be at least 1 second (is {LeaseDuration}).");
        }

        if (LeaseRenewInterval <= TimeSpan.Zero || LeaseRenewInterval * 2 > LeaseDuration)
        {
            errors.Add($"LeaseRenewInterval must be positive and at most half of LeaseDuration (is {LeaseRenewInterval}, LeaseDuration {LeaseDuration}).");
        }

        if (LeaseSafetyMargin < TimeSpan.Zero || LeaseSafetyMargin + LeaseRenewInterval >= LeaseDuration)
        {
            errors.Add($"LeaseSafetyMargin must be at least zero and leave room for a renewal: LeaseSafetyMargin + LeaseRenewInterval must be below LeaseDuration (are {LeaseSafetyMargin} + {LeaseRenewInterval}, LeaseDuration {LeaseDuration}).");
        }

        if (InstanceId is null || InstanceId.Length > 200)
        {
            errors.Add("InstanceId must be at most 200 characters (empty: one is made per process).");
        }

        if (OwnershipConfirmationCache < TimeSpan.Zero || OwnershipConfirmationCache >= LeaseDuration)
        {
            errors.Add($"OwnershipConfirmationCache must be at least zero and below LeaseDuration (is {OwnershipConfirmationCache}, LeaseDuration {LeaseDuration}).");
        }

        if (CommandTimeout <= TimeSpan.Zero)
        {
            errors.Add($"CommandTimeout must be positive (is {CommandTimeout}).");
        }

        if (CommandRetention < CommandTimeout)
        {
            errors.Add($"CommandRetention must be at least CommandTimeout, so an outcome is kept while its sender waits (are {CommandRetention} and {CommandTimeout}).");
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            errors.Add($"PollInterval must be positive (is {PollInterval}).");
        }

        return errors;
    }

    /// <summary>The instance id to use: <see cref="InstanceId"/>, or a fresh one for this process.</summary>
    internal string ResolveInstanceId()
        => string.IsNullOrEmpty(InstanceId)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}-{Random.Shared.Next():x8}")
            : InstanceId;

    /// <summary>Throws with every problem listed when the options are invalid.</summary>
    internal void ThrowIfInvalid()
    {
        if (Validate() is { Count: > 0 } errors)
        {
            throw OrchestrationException.InvalidConfiguration("PostgreSQL state options", errors);
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}
