using Bpi.Orchestration.State;
namespace Bpi.Orchestration.Admission;

/// <summary>Authorization ahead of operations: a host that combines operations asks for every verb before the first one changes anything.</summary>
internal sealed partial class OperationGate
{
    /// <summary>Authorizes each of <paramref name="verbs"/> on a deployment to be, without doing anything else.</summary>
    public async Task AuthorizeAheadAsync(IEnumerable<string> verbs, DeploymentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verbs);
        ArgumentNullException.ThrowIfNull(spec);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        foreach (var verb in verbs)
        {
            await AuthorizeAsync(verb, spec.Environment, spec.AppId, null, spec, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Authorizes each of <paramref name="verbs"/> on an existing deployment, without doing anything else.</summary>
    public async Task AuthorizeAheadAsync(IEnumerable<string> verbs, string deploymentId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(verbs);
        ArgumentException.ThrowIfNullOrWhiteSpace(deploymentId);
        DeploymentIds.ThrowIfInvalid(deploymentId);
        await EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
        var spec = registry.Find(deploymentId).Record.CurrentSpec;
        foreach (var verb in verbs)
        {
            await AuthorizeAsync(verb, spec.Environment, spec.AppId, deploymentId, null, cancellationToken).ConfigureAwait(false);
        }
    }
}
