using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Ownership;
using Bpi.Orchestration.PostgreSql;
using Bpi.Orchestration.State;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the orchestrator's shared state on PostgreSQL, so several instances form one orchestrator.</summary>
public static class PostgreSqlOrchestrationBuilderExtensions
{
    /// <summary>
    /// Keeps the orchestrator's state in the PostgreSQL database every instance shares: the deployment store (versioned,
    /// fenced writes), the ownership of deployments (leases with fencing tokens, renewed in the background, taken over
    /// when an instance dies, released on a clean stop) and one audit chain appended to by every instance. Replaces the
    /// store, the audit sink and the ownership registered before. The schema is created or migrated when first used.
    /// With <c>AddBackup</c>, a backup holds the deployments and the audit chain (the <c>postgresql-audit</c> part, verified
    /// in full before a restore writes it in one transaction).
    /// Options are validated when a generic host starts (every problem listed) and again when first used.
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="connectionString">The Npgsql connection string of the shared database.</param>
    /// <param name="configure">Sets lease timing, schema and instance id.</param>
    /// <param name="configureAudit">Sets the audit chain's options (origin, checkpoint signers); the connection string and schema are the state's.</param>
    /// <returns>The builder.</returns>
    public static IOrchestrationBuilder AddPostgreSqlState(
        this IOrchestrationBuilder builder,
        string connectionString,
        Action<PostgreSqlStateOptions>? configure = null,
        Action<PostgreSqlAuditStoreOptions>? configureAudit = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var services = builder.Services;
        services.AddValidatedOptions<PostgreSqlStateOptions, PostgreSqlStateOptionsValidator>(options =>
        {
            options.ConnectionString = connectionString;
            configure?.Invoke(options);
        });
        services.AddValidatedOptions<PostgreSqlAuditStoreOptions, PostgreSqlAuditStoreOptionsValidator>(configureAudit);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new PostgreSqlDatabase(sp.GetRequiredService<IOptions<PostgreSqlStateOptions>>().Value));
        services.TryAddSingleton(sp => new PostgreSqlOwnership(
            sp.GetRequiredService<PostgreSqlDatabase>(),
            sp.GetRequiredService<TimeProvider>(),
            (sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Bpi.Orchestration.PostgreSql")));
        services.Replace(ServiceDescriptor.Singleton<IDeploymentStore>(sp => new PostgreSqlDeploymentStore(sp.GetRequiredService<PostgreSqlDatabase>())));
        services.Replace(ServiceDescriptor.Singleton<IDeploymentOwnership>(sp => sp.GetRequiredService<PostgreSqlOwnership>()));
        // The audit chain is the 'postgresql-audit' part of a backup (AddBackup); restore it before the store is opened.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Bpi.Orchestration.Backup.IBackupPart, PostgreSqlAuditBackupPart>());
        return builder.UseAuditStore(OpenAuditStore);
    }

    private static PostgreSqlAuditStore OpenAuditStore(IServiceProvider services)
    {
        var database = services.GetRequiredService<PostgreSqlDatabase>();
        var options = services.GetRequiredService<IOptions<PostgreSqlAuditStoreOptions>>().Value;
        options.ConnectionString = database.Options.ConnectionString;
        options.Schema = database.Schema;

        // A service factory cannot await: the chain is opened (read and checked) once, when the orchestrator is built.
        return PostgreSqlAuditStore.OpenAsync(database, options, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>(), ownsDatabase: false, CancellationToken.None)
            .AsTask().GetAwaiter().GetResult();
    }
}

/// <summary>Lists every problem of <see cref="PostgreSqlAuditStoreOptions"/> (the audit options; connection and schema are the state's).</summary>
internal sealed class PostgreSqlAuditStoreOptionsValidator : IValidateOptions<PostgreSqlAuditStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlAuditStoreOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Lists every problem of <see cref="PostgreSqlStateOptions"/>.</summary>
internal sealed class PostgreSqlStateOptionsValidator : IValidateOptions<PostgreSqlStateOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgreSqlStateOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
