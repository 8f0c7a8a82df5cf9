using System.Text.Json;
using Bpi.Orchestration.State;

namespace Bpi.Orchestration.Backup;

/// <summary>
/// The <c>deployments</c> part of a backup: every record of an <see cref="IDeploymentStore"/> (its retained revisions,
/// history and the cursor of a running rollout) in its stored JSON form (<see cref="DeploymentJson"/>), so component
/// secrets stay sealed as they are stored. Restores through <see cref="IRestorableDeploymentStore.ReplaceAllAsync"/>
/// (atomic); a store without it is refused.
/// </summary>
public sealed class DeploymentStoreBackupPart : IBackupPart
{
    /// <summary>The part's name.</summary>
    public const string PartName = "deployments";

    private const int MaxRecords = 100_000;
    private readonly IDeploymentStore _store;

    /// <summary>Creates the part over <paramref name="store"/>.</summary>
    /// <param name="store">The deployment store.</param>
    public DeploymentStoreBackupPart(IDeploymentStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
    }

    /// <inheritdoc />
    public string Name => PartName;

    /// <inheritdoc />
    public async ValueTask WriteAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var records = await _store.ListAsync(cancellationToken).ConfigureAwait(false);
        // A JSON array of the records' stored JSON, by id: the same state always gives the same bytes.
        destination.WriteByte((byte)'[');
        var first = true;
        foreach (var record in records.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            if (!first)
            {
                destination.WriteByte((byte)',');
            }

            first = false;
            await destination.WriteAsync(DeploymentJson.Serialize(record), cancellationToken).ConfigureAwait(false);
        }

        destination.WriteByte((byte)']');
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<string>> VerifyAsync(Stream content, CancellationToken cancellationToken = default)
    {
        var problems = new List<string>();
        if (_store is not IRestorableDeploymentStore)
        {
            problems.Add($"The deployment store {_store.GetType().Name} cannot replace its records atomically (IRestorableDeploymentStore); restore into a file, in-memory or PostgreSQL store.");
        }

        var (_, readProblems) = await ReadAsync(content, cancellationToken).ConfigureAwait(false);
        problems.AddRange(readProblems);
        return problems;
    }

    /// <inheritdoc />
    public async ValueTask<bool> HasDataAsync(CancellationToken cancellationToken = default) =>
        (await _store.ListAsync(cancellationToken).ConfigureAwait(false)).Count > 0;

    /// <inheritdoc />
    public async ValueTask RestoreAsync(Stream content, CancellationToken cancellationToken = default)
    {
        var (records, problems) = await ReadAsync(content, cancellationToken).ConfigureAwait(false);
        if (problems.Count > 0 || _store is not IRestorableDeploymentStore restorable)
        {
            throw new OrchestrationBackupException(BackupRefusal.Damaged, "The deployments part cannot be restored.", problems);
        }

        await restorable.ReplaceAllAsync(records, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the records of the part, listing every line that is not a record and every id listed twice.</summary>
    private static async Task<(List<DeploymentRecord> Records, List<string> Problems)> ReadAsync(Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var records = new List<DeploymentRecord>();
        var problems = new List<string>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(content, new JsonDocumentOptions { MaxDepth = DeploymentJson.Options.MaxDepth + 1 }, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            problems.Add($"The part is not a JSON array of deployment records: {ex.Message}");
            return (records, problems);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array || document.RootElement.GetArrayLength() > MaxRecords)
            {
                problems.Add($"The part is not a JSON array of at most {MaxRecords} deployment records.");
                return (records, problems);
            }

            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                try
                {
                    var record = DeploymentJson.Deserialize(System.Text.Encoding.UTF8.GetBytes(element.GetRawText()));
                    if (!ids.Add(record.Id))
                    {
                        problems.Add($"Record {index}: the deployment '{record.Id}' is listed twice.");
                    }

                    records.Add(record);
                }
                catch (OrchestrationException ex)
                {
                    problems.Add($"Record {index} is not a deployment record: {ex.Message}");
                }

                index++;
            }
        }

        return (records, problems);
    }
}
