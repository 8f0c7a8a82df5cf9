using System.Runtime.CompilerServices;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// What the CLI adds around Core's <see cref="FileDeploymentStore"/> (which does every read and write): listing skips
/// a record file that cannot be read (one damaged file must not block every other deployment; the commands say which
/// files were skipped, <see cref="Unreadable"/>), and once the command releases the state directory a late save of its
/// stopping orchestrator is refused instead of overwriting what the next command writes (<see cref="CloseAsync"/>).
/// </summary>
internal sealed class CliDeploymentStore(string directory) : IDeploymentStore
{
    /// <summary>
    /// A record names its strategy (<c>canary</c>, <c>blue-green</c>, …), which the Strategies package registers when it
    /// is loaded. Commands that only read records (<c>status</c>, <c>list-deployments</c>) never build an orchestrator,
    /// so nothing else loads the package in their process: load it here, before the first record is read.
    /// </summary>
    static CliDeploymentStore() => RuntimeHelpers.RunModuleConstructor(typeof(Strategies.Canary.CanaryStrategySpec).Module.ModuleHandle);

    private readonly FileDeploymentStore _files = new(directory);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _closed;

    /// <summary>The record files the last <see cref="ListAsync"/> skipped because they could not be read (file name → why).</summary>
    public IReadOnlyDictionary<string, string> Unreadable { get; private set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public async ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A late state toggle of a stopped orchestrator (a wait ending because the orchestrator stopped) must not
            // overwrite what the next process on this state directory writes; the stored cursor is what counts.
            return _closed
                ? throw new OrchestrationException(OrchestrationErrorKind.NotRunning, $"The deployment store of this command is closed; '{record.Id}' was not saved.")
                : await _files.SaveAsync(record, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _files.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default) => _files.GetAsync(id, cancellationToken);

    public async ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var scan = await _files.ScanAsync(cancellationToken).ConfigureAwait(false);
        Unreadable = scan.Unreadable;
        return scan.Records;
    }

    /// <summary>Waits for a save in progress, then refuses every later one (the state directory is about to be released).</summary>
    public async Task CloseAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        _closed = true;
        _gate.Release();
    }
}
