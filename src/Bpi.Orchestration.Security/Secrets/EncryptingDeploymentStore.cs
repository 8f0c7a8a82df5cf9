using Bpi.Orchestration.Rollout;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Security.Secrets;

/// <summary>
/// An <see cref="IDeploymentStore"/> decorator that keeps <see cref="ComponentSpec.Secrets"/> encrypted at rest: every
/// secret value of every revision is sealed with <see cref="SecretProtector"/> before the inner store sees it, and opened
/// again when records are read, so the orchestrator holds plaintext only in memory and hands it to the runtime only when
/// an instance is created. Each value is bound to <c>{deployment id}/{revision}/{component}/{name}</c>.
/// </summary>
public sealed class EncryptingDeploymentStore : IDeploymentStore
{
    private readonly IDeploymentStore _inner;
    private readonly SecretProtector _protector;

    /// <summary>Wraps a store.</summary>
    /// <param name="inner">The store that persists records.</param>
    /// <param name="protector">Encrypts and decrypts secret values.</param>
    public EncryptingDeploymentStore(IDeploymentStore inner, SecretProtector protector)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(protector);
        _inner = inner;
        _protector = protector;
    }

    /// <inheritdoc />
    public ValueTask<long> SaveAsync(DeploymentRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return _inner.SaveAsync(Transform(record, (value, context) => SecretProtector.IsProtected(value) ? value : _protector.Protect(value, context)), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<DeploymentRecord?> GetAsync(string id, CancellationToken cancellationToken = default)
        => await _inner.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } record ? Open(record) : null;

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<DeploymentRecord>> ListAsync(CancellationToken cancellationToken = default)
        => [.. (await _inner.ListAsync(cancellationToken).ConfigureAwait(false)).Select(Open)];

    /// <inheritdoc />
    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken = default) => _inner.DeleteAsync(id, cancellationToken);

    /// <summary>Re-wraps every stored secret with the key ring's active key (run after a rotation, before retiring the old key).</summary>
    /// <param name="cancellationToken">Cancels the run; records done stay done.</param>
    /// <returns>How many records were rewritten.</returns>
    public async Task<int> RewrapAllAsync(CancellationToken cancellationToken = default)
    {
        var count = 0;
        foreach (var record in await _inner.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            var rewrapped = Transform(record, (value, _) => SecretProtector.IsProtected(value) ? _protector.Rewrap(value) : value);
            if (!ReferenceEquals(rewrapped, record))
            {
                // Conditional like every save: a record that changed meanwhile keeps its newer version (rewrapped on its next save).
                await _inner.SaveAsync(rewrapped, cancellationToken).ConfigureAwait(false);
                count++;
            }
        }

        return count;
    }

    private DeploymentRecord Open(DeploymentRecord record)
        => Transform(record, (value, context) => SecretProtector.IsProtected(value) ? _protector.Unprotect(value, context) : value);

    private static DeploymentRecord Transform(DeploymentRecord record, Func<string, string, string> transform)
    {
        var changed = false;
        var revisions = new List<RevisionSpec>(record.Revisions.Count);
        foreach (var revision in record.Revisions)
        {
            var components = new List<ComponentSpec>(revision.Spec.Components.Count);
            var revisionChanged = false;
            foreach (var component in revision.Spec.Components)
            {
                if (component.Secrets.Count == 0)
                {
                    components.Add(component);
                    continue;
                }

                var secrets = new Dictionary<string, string>(component.Secrets.Count, StringComparer.Ordinal);
                var componentChanged = false;
                foreach (var (name, value) in component.Secrets)
                {
                    var result = transform(value, $"{record.Id}/{revision.Number}/{component.Id}/{name}");
                    componentChanged |= !string.Equals(result, value, StringComparison.Ordinal);
                    secrets[name] = result;
                }

                components.Add(componentChanged ? component with { Secrets = secrets } : component);
                revisionChanged |= componentChanged;
            }

            revisions.Add(revisionChanged ? revision with { Spec = revision.Spec with { Components = components } } : revision);
            changed |= revisionChanged;
        }

        return changed ? record with { Revisions = revisions } : record;
    }
}
