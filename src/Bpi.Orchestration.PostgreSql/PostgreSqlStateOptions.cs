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
