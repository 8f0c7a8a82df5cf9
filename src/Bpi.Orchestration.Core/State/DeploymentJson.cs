using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bpi.Orchestration.State;

/// <summary>
/// The JSON form of deployment records and specs, for durable stores and for hosts that read specs from files. Enums
/// are written by name and durations as <c>d.hh:mm:ss</c>; a <see cref="StrategySpec"/> is written as
/// <c>{"strategy": name, "settings": {...}}</c> with its name from <see cref="StrategySpecRegistry"/>, so strategies
/// from any package round-trip without .NET type names in the file.
/// </summary>
public static class DeploymentJson
{
    /// <summary>
    /// The largest record <see cref="Deserialize"/> reads: 16 MiB. Nesting is limited to 64 levels (the serializer's
    /// <see cref="JsonSerializerOptions.MaxDepth"/>) and a property may appear once per object; together these bound
    /// the length of every string and list a record can hold.
    /// </summary>
    public const int MaxRecordBytes = 16 * 1024 * 1024;

    /// <summary>The serializer options every store uses. Do not mutate.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Serializes a record to UTF-8 JSON.</summary>
    /// <param name="record">The record.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: a revision's strategy spec type is not registered in <see cref="StrategySpecRegistry"/>.</exception>
    public static byte[] Serialize(DeploymentRecord record)
    {
        try
        {
            return JsonSerializer.SerializeToUtf8Bytes(record, Options);
        }
        catch (JsonException ex)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The deployment record '{record?.Id}' could not be stored: {ex.Message}", ex);
        }
    }

    /// <summary>Reads a record from UTF-8 JSON.</summary>
    /// <param name="utf8Json">The bytes.</param>
    /// <returns>The record.</returns>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the JSON is not a record, is larger than <see cref="MaxRecordBytes"/>, or names a strategy that is not registered.</exception>
    public static DeploymentRecord Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.Length > MaxRecordBytes)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"A stored deployment record could not be read: it is {utf8Json.Length} bytes, more than the limit of {MaxRecordBytes}; restore the record from a backup or remove it.");
        }

        try
        {
            var record = JsonSerializer.Deserialize<DeploymentRecord>(utf8Json, Options)
                ?? throw new JsonException("The document is null.");
            return Check(record);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // NotSupportedException: System.Text.Json's answer to a polymorphic value (a canary step, a metric query)
            // without its type discriminator, which is malformed input like any other.
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"A stored deployment record could not be read: {ex.Message}", ex);
        }
    }

    /// <summary>What every engine path relies on: a well-formed id and at least one revision, each with a spec.</summary>
    private static DeploymentRecord Check(DeploymentRecord record)
    {
        if (!DeploymentIds.IsValid(record.Id))
        {
            throw new JsonException($"'id' is not a deployment id (an id is {DeploymentIds.Grammar}).");
        }

        if (record.Revisions is not { Count: > 0 } revisions)
        {
            throw new JsonException("'revisions' must list at least one revision.");
        }

        foreach (var revision in revisions)
        {
            if (revision?.Spec is null)
            {
                throw new JsonException("'revisions' holds an entry without a spec.");
            }
        }

        return record;
    }

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            AllowDuplicateProperties = false,
            MaxDepth = 64,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.Converters.Add(new StrategySpecConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>
    /// Writes <c>{"strategy": name, "settings": {...}}</c> with the name the spec type is registered under in
    /// <see cref="StrategySpecRegistry"/>, and reads it back by that name (or an alias); without settings, the spec's
    /// defaults. Records written before names were registered also carry a <c>type</c> (the .NET type name); it is
    /// ignored: the name decides.
    /// </summary>
    private sealed class StrategySpecConverter() : NamedTypeJsonConverter<StrategySpec, StrategySpecRegistration>(StrategySpecRegistry.Registry, "strategy", "settings", "A strategy spec", payloadOptional: true)
    {
        protected override string? SuggestName(StrategySpec value) => value.Name;
    }
}
