using Bpi.Orchestration.Security;

namespace Bpi.Orchestration;

/// <summary>Authorization ahead of operations: a host that combines operations asks for every verb before the first one changes anything.</summary>
internal sealed partial class OrchestrationVm
{
    public async Task AuthorizeAsync(IEnumerable<string> verbs, DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(verbs);
        ArgumentNullException.ThrowIfNull(spec);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        foreach (var verb in verbs)
        {
            await AuthorizeAsync(verb, spec.Environment, spec.AppId, null, spec, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task AuthorizeAsync(IEnumerable<string> verbs, string deploymentId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(verbs);
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var spec = FindEntry(deploymentId).Record.CurrentSpec;
        foreach (var verb in verbs)
        {
            await AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken).ConfigureAwait(false);
        }
    }
}
