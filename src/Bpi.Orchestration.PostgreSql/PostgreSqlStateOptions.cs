using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

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
        const string T = nameof(PostgreSqlStateOptions);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add($"{T}.ConnectionString: empty; give the Npgsql connection string of the shared database (for example Host=db;Username=bpi;Password=…;Database=bpi).");
        }

        if (!SchemaName().IsMatch(Schema ?? ""))
        {
            errors.Add($"{T}.Schema: '{Schema}' is not a lowercase SQL identifier; use a letter or '_' then letters, digits or '_', at most 63 characters.");
        }

        if (LeaseDuration < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{T}.LeaseDuration: {LeaseDuration} is under 1 second; use 1 second or more.");
        }

        if (LeaseRenewInterval <= TimeSpan.Zero || LeaseRenewInterval * 2 > LeaseDuration)
        {
            errors.Add($"{T}.LeaseRenewInterval: {LeaseRenewInterval} is not within (0, LeaseDuration / 2] (LeaseDuration is {LeaseDuration}); renew at least twice per lease.");
        }

        if (LeaseSafetyMargin < TimeSpan.Zero || LeaseSafetyMargin + LeaseRenewInterval >= LeaseDuration)
        {
            errors.Add($"{T}.LeaseSafetyMargin: {LeaseSafetyMargin} is negative or leaves no room for a renewal (LeaseRenewInterval {LeaseRenewInterval}, LeaseDuration {LeaseDuration}); keep LeaseSafetyMargin + LeaseRenewInterval below LeaseDuration.");
        }

        if (InstanceId is null || InstanceId.Length > 200)
        {
            errors.Add($"{T}.InstanceId: longer than 200 characters; use at most 200 (or leave it empty to get one per process).");
        }

        if (OwnershipConfirmationCache < TimeSpan.Zero || OwnershipConfirmationCache >= LeaseDuration)
        {
            errors.Add($"{T}.OwnershipConfirmationCache: {OwnershipConfirmationCache} is not within [0, LeaseDuration) (LeaseDuration is {LeaseDuration}); use zero or a span shorter than the lease.");
        }

        if (CommandTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{T}.CommandTimeout: {CommandTimeout} is not positive; use a duration greater than zero.");
        }

        if (CommandRetention < CommandTimeout)
        {
            errors.Add($"{T}.CommandRetention: {CommandRetention} is shorter than CommandTimeout ({CommandTimeout}); keep outcomes at least as long as a sender waits.");
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            errors.Add($"{T}.PollInterval: {PollInterval} is not positive; use a duration greater than zero.");
        }

        return errors;
    }

    /// <summary>The instance id to use: <see cref="InstanceId"/>, or a fresh one for this process.</summary>
    internal string ResolveInstanceId()
        => string.IsNullOrEmpty(InstanceId)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Environment.MachineName}-{Environment.ProcessId}-{Random.Shared.Next():x8}")
            : InstanceId;

    /// <summary>Throws the <see cref="OptionsValidationException"/> listing every problem when the options are invalid.</summary>
    internal void ThrowIfInvalid()
    {
        if (Validate() is { Count: > 0 } errors)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(PostgreSqlStateOptions), errors);
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}
