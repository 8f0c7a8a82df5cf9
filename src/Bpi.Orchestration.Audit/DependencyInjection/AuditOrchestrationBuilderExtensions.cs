using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Auditing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the audit stores of <c>Bpi.Orchestration.Audit</c> as the orchestrator's <see cref="IAuditSink"/>.</summary>
public static class AuditOrchestrationBuilderExtensions
{
    /// <summary>
    /// Uses the durable <see cref="FileAuditStore"/> in <paramref name="path"/> as the audit sink: every VM operation and
    /// executor transition is appended (and acknowledged only after its fsync). Replaces any other
    /// <see cref="IAuditSink"/>; also registers <see cref="FileAuditStore"/> and <see cref="IAuditStore"/> so the host can
    /// verify and export. The store is opened (and recovered) when first resolved, and disposed with the container.
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="path">The store directory.</param>
    /// <param name="configure">Further options, for example <see cref="AuditStoreOptions.CheckpointSigners"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IOrchestrationBuilder AddFileAuditStore(this IOrchestrationBuilder builder, string path, Action<FileAuditStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var services = builder.Services;
        services.AddValidatedOptions<FileAuditStoreOptions, AuditStoreOptionsValidator<FileAuditStoreOptions>>(options =>
        {
            options.Path = path;
            configure?.Invoke(options);
        });
        services.TryAddSingleton(sp => FileAuditStore.Open(
            sp.GetRequiredService<IOptions<FileAuditStoreOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditStore>(sp => sp.GetRequiredService<FileAuditStore>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditSink>(sp => new AuditSinkAdapter(sp.GetRequiredService<FileAuditStore>())));
        // The store's directory is the 'audit' part of a backup (AddBackup); restore it before the store is opened.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Bpi.Orchestration.Backup.IBackupPart, FileAuditStoreBackupPart>());
        return builder;
    }

    /// <summary>
    /// Uses an <see cref="InMemoryAuditStore"/> as the audit sink (nothing survives the process). Replaces any other
    /// <see cref="IAuditSink"/>; also registers <see cref="InMemoryAuditStore"/> and <see cref="IAuditStore"/>.
    /// </summary>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="configure">Further options, for example checkpoint signers.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IOrchestrationBuilder AddInMemoryAuditStore(this IOrchestrationBuilder builder, Action<InMemoryAuditStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddValidatedOptions<InMemoryAuditStoreOptions, AuditStoreOptionsValidator<InMemoryAuditStoreOptions>>(configure);
        services.TryAddSingleton(sp => new InMemoryAuditStore(
            sp.GetRequiredService<IOptions<InMemoryAuditStoreOptions>>().Value,
            sp.GetService<TimeProvider>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditStore>(sp => sp.GetRequiredService<InMemoryAuditStore>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditSink>(sp => new AuditSinkAdapter(sp.GetRequiredService<InMemoryAuditStore>())));
        return builder;
    }

    /// <summary>
    /// Uses your own audit store (for example an <see cref="AuditLogStore"/> over a storage of your own) as the audit
    /// sink: every VM operation and executor transition is appended to it. Replaces any other <see cref="IAuditSink"/>
    /// and <see cref="IAuditStore"/>; also registers <typeparamref name="TStore"/> (unless registered before) so the host
    /// can verify and export. The store is created when first resolved and disposed with the container.
    /// </summary>
    /// <typeparam name="TStore">The store's type.</typeparam>
    /// <param name="builder">The orchestration builder.</param>
    /// <param name="factory">Creates (opens) the store.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IOrchestrationBuilder UseAuditStore<TStore>(this IOrchestrationBuilder builder, Func<IServiceProvider, TStore> factory)
        where TStore : class, IAuditStore
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        var services = builder.Services;
        services.TryAddSingleton(factory);
        services.Replace(ServiceDescriptor.Singleton<IAuditStore>(sp => sp.GetRequiredService<TStore>()));
        services.Replace(ServiceDescriptor.Singleton<IAuditSink>(sp => new AuditSinkAdapter(sp.GetRequiredService<TStore>())));
        return builder;
    }
}

/// <summary>Validates audit store options through the options pipeline, listing every failure.</summary>
internal sealed class AuditStoreOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : AuditStoreOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
