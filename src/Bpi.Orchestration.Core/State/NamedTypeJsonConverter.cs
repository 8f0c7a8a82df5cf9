using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bpi.Orchestration.State;

/// <summary>
/// Writes a value as an envelope <c>{"&lt;name&gt;": registered name, "&lt;payload&gt;": {...}}</c> with the name its
/// type is registered under in a <see cref="NamedTypeRegistry{TEntry}"/>, and reads it back by that name (or an alias),
/// so stored records never hold .NET type names. Other properties of the envelope (such as the <c>type</c> older records
/// carry) are ignored: the name decides. Subclasses name the registry, the two properties and the subject of errors.
/// </summary>
/// <typeparam name="TBase">The declared type of the values converted.</typeparam>
/// <typeparam name="TEntry">The registry's registration type.</typeparam>
internal abstract class NamedTypeJsonConverter<TBase, TEntry> : JsonConverter<TBase>
    where TBase : class
    where TEntry : class, INamedType
{
    private readonly NamedTypeRegistry<TEntry> _registry;
    private readonly string _nameProperty;
    private readonly string _payloadProperty;
    private readonly string _subject;
    private readonly bool _payloadOptional;

    /// <summary>Creates the converter.</summary>
    /// <param name="registry">The registry of names.</param>
    /// <param name="nameProperty">The envelope property holding the name: <c>strategy</c>.</param>
    /// <param name="payloadProperty">The envelope property holding the value: <c>settings</c>.</param>
    /// <param name="subject">What an envelope is, capitalised, for messages: <c>A strategy spec</c>.</param>
    /// <param name="payloadOptional">Whether a missing payload reads as <c>{}</c> (the type's defaults) rather than an error.</param>
    protected NamedTypeJsonConverter(NamedTypeRegistry<TEntry> registry, string nameProperty, string payloadProperty, string subject, bool payloadOptional)
    {
        _registry = registry;
        _nameProperty = nameProperty;
        _payloadProperty = payloadProperty;
        _subject = subject;
        _payloadOptional = payloadOptional;
    }

    /// <inheritdoc />
    public override TBase? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(_nameProperty, out var nameElement) || nameElement.ValueKind != JsonValueKind.String || nameElement.GetString() is not { Length: > 0 } name)
        {
            throw new JsonException($"{_subject} needs a '{_nameProperty}' (registered: {_registry.DescribeNames()}){(_payloadOptional ? "" : $" and a '{_payloadProperty}'")}.");
        }

        if (!_registry.TryGet(name, out var entry))
        {
            throw new JsonException($"The {_registry.Options.NameNoun} '{name}' is not registered (registered: {_registry.DescribeNames()}); add the package that provides it (for example .AddStrategies()).");
        }

        TBase? value;
        if (root.TryGetProperty(_payloadProperty, out var payload))
        {
            value = (TBase?)payload.Deserialize(entry.Type, options);
        }
        else if (_payloadOptional)
        {
            value = (TBase?)JsonSerializer.Deserialize("{}"u8, entry.Type, options);
        }
        else
        {
            throw new JsonException($"{_subject} named '{name}' has no '{_payloadProperty}'.");
        }

        return value ?? throw new JsonException($"{_subject} named '{name}' has a null '{_payloadProperty}'; give its {_payloadProperty} as an object.");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, TBase value, JsonSerializerOptions options)
    {
        var type = value.GetType();
        TEntry? entry;
        try
        {
            entry = _registry.ForWriting(type);
        }
        catch (OrchestrationException ex)
        {
            throw new JsonException(ex.Message, ex);
        }

        if (entry is null)
        {
            var suggested = SuggestName(value);
            var registry = _registry.Options;
            throw new JsonException($"The {registry.TypeNoun} {type.Name}{(suggested is null ? "" : $" ('{suggested}')")} is not registered, so it could not be read back; register it with {registry.RegisterMethod}<{type.Name}>(\"{suggested ?? "name"}\") (registered: {_registry.DescribeNames()}).");
        }

        writer.WriteStartObject();
        writer.WriteString(_nameProperty, entry.Name);
        writer.WritePropertyName(_payloadProperty);
        JsonSerializer.Serialize(writer, value, entry.Type, options);
        writer.WriteEndObject();
    }

    /// <summary>The name to suggest registering an unregistered value's type under, when the value knows it.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The name, or <see langword="null"/>.</returns>
    protected virtual string? SuggestName(TBase value) => null;
}
