using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Reads a config document (YAML or JSON; JSON is YAML too, but is parsed as JSON for exact errors) into a JSON tree,
/// within fixed limits so that hostile input is refused with a position instead of exhausting memory or the stack:
/// at most <see cref="MaxDocumentChars"/> characters, <see cref="MaxDepth"/> levels of nesting,
/// <see cref="MaxEntries"/> entries in one list or object and <see cref="MaxScalarChars"/> characters in one value or
/// key; no duplicate keys, no unpaired UTF-16 surrogates, one YAML document, and no YAML aliases (<c>*name</c>).
/// </summary>
internal static partial class YamlJson
{
    /// <summary>The largest document accepted, in characters (1 MiB).</summary>
    public const int MaxDocumentChars = 1024 * 1024;

    /// <summary>The deepest nesting of lists and objects accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>The most entries one list or object may have.</summary>
    public const int MaxEntries = 10_000;

    /// <summary>The longest value or key accepted, in characters (64 KiB).</summary>
    public const int MaxScalarChars = 64 * 1024;

    private const string YamlStr = "tag:yaml.org,2002:str";

    /// <summary>Parses <paramref name="text"/>; JSON when <paramref name="json"/> is set, YAML otherwise.</summary>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/> with the line and column (or path) of the problem.</exception>
    public static JsonNode? Parse(string text, bool json, string source)
    {
        if (text.Length > MaxDocumentChars)
        {
            throw Invalid(source, string.Create(CultureInfo.InvariantCulture, $"the document is {text.Length} characters long; a config file may have at most {MaxDocumentChars}."));
        }

        // A file read as UTF-8 never holds one, but text handed in directly may: System.Text.Json throws ArgumentException on it.
        if (FindUnpairedSurrogate(text) is { } at)
        {
            var line = 1 + text.AsSpan(0, at).Count('\n');
            var column = at - (at == 0 ? 0 : text.LastIndexOf('\n', at - 1) + 1) + 1;
            throw Invalid(source, string.Create(CultureInfo.InvariantCulture, $"not valid text at line {line}, column {column}: an unpaired UTF-16 surrogate (U+{(int)text[at]:X4})."));
        }

        return json ? ParseJson(text, source) : new YamlReader(text, source).Read();
    }

    private static int? FindUnpairedSurrogate(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return null;
    }

    private static OrchestrationException Invalid(string source, string problem) => OrchestrationException.InvalidConfiguration(DeploymentDocument.Subject(source), [problem]);

    private static JsonNode? ParseJson(string text, string source)
    {
        // Duplicate keys are found while copying, not with JsonDocumentOptions.AllowDuplicateProperties: that check names
        // no path, and throws InvalidOperationException for a key with an unpaired surrogate escape.
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
                MaxDepth = MaxDepth,
            });
        }
        catch (JsonException ex)
        {
            throw Invalid(source, $"not valid JSON: {ex.Message}");
        }

        using (document)
        {
            return FromJson(document.RootElement, "", source, 0);
        }
    }

    /// <summary>Copies an element parsed elsewhere (an HTTP body) into a node tree, within the same limits as a parsed document.</summary>
    public static JsonNode? FromElement(JsonElement element, string source)
    {
        if (element.ValueKind == JsonValueKind.Undefined)
        {
            return null;
        }

        return FromJson(element, "", source, 0);
    }

    /// <summary>Copies a parsed element into a node tree (recursion is bounded by <see cref="MaxDepth"/>), checking strings and sizes.</summary>
    private static JsonNode? FromJson(JsonElement element, string path, string source, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Invalid(source, $"{path}: nested more than {MaxDepth} levels deep.");
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    var name = JsonString(() => property.Name, path, source);
                    var at = path.Length == 0 ? name : path + "." + name;
                    CheckScalar(name, () => Invalid(source, $"{path}: a key is longer than {MaxScalarChars} characters."), () => Invalid(source, $"{at}: the key contains an unpaired UTF-16 surrogate."));
                    if (obj.ContainsKey(name))
                    {
                        throw Invalid(source, $"{at}: the key '{name}' appears twice in the object.");
                    }

                    if (obj.Count == MaxEntries)
                    {
                        throw Invalid(source, $"{path}: more than {MaxEntries} entries.");
                    }

                    obj[name] = FromJson(property.Value, at, source, depth + 1);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (array.Count == MaxEntries)
                    {
                        throw Invalid(source, $"{path}: more than {MaxEntries} entries.");
                    }

                    array.Add(FromJson(item, string.Create(CultureInfo.InvariantCulture, $"{path}[{i++}]"), source, depth + 1));
                }

                return array;
            case JsonValueKind.String:
                var value = JsonString(element.GetString, path, source)!;
                CheckScalar(value, () => Invalid(source, $"{path}: the value is longer than {MaxScalarChars} characters."), () => Invalid(source, $"{path}: the value contains an unpaired UTF-16 surrogate."));
                return JsonValue.Create(value);
            case JsonValueKind.Number:
                return JsonValue.Create(element.Clone());
            case JsonValueKind.True or JsonValueKind.False:
                return JsonValue.Create(element.GetBoolean());
            default:
                return null;
        }
    }

    /// <summary>System.Text.Json decodes escapes lazily and throws <see cref="InvalidOperationException"/> for an unpaired surrogate escape (<c>\ud800</c>).</summary>
    private static string JsonString(Func<string?> read, string path, string source)
    {
        try
        {
            return read() ?? "";
        }
        catch (InvalidOperationException)
        {
            throw Invalid(source, $"{(path.Length == 0 ? "(document)" : path)}: a string contains an unpaired UTF-16 surrogate escape such as \\ud800.");
        }
    }

    private static void CheckScalar(string value, Func<OrchestrationException> tooLong, Func<OrchestrationException> badSurrogate)
    {
        if (value.Length > MaxScalarChars)
        {
            throw tooLong();
        }

        if (FindUnpairedSurrogate(value) is not null)
        {
            throw badSurrogate();
        }
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex JsonNumber();

    /// <summary>
    /// Builds the tree from the YAML event stream with an explicit stack, so neither deep nesting nor our code can
    /// overflow the call stack; the depth is checked on each opening event, before the parser reads further.
    /// </summary>
    private sealed class YamlReader(string text, string source)
    {
        private readonly Parser _parser = new(new StringReader(text));
        private readonly Stack<(JsonNode Node, string? PendingKey)> _open = new();
        private Mark _last = Mark.Empty;

        public JsonNode? Read()
        {
            Expect<StreamStart>();
            if (Next() is StreamEnd)
            {
                return null;
            }

            JsonNode? root = null;
            for (var e = Next(); e is not DocumentEnd; e = Next())
            {
                switch (e)
                {
                    case AnchorAlias alias:
                        throw At(alias.Start, $"the alias *{alias.Value} is not supported in config files; write the value out instead of referring to an anchor.");
                    case Scalar scalar when _open.Count > 0 && _open.Peek() is { Node: JsonObject, PendingKey: null } top:
                        CheckScalar(scalar.Value, () => At(scalar.Start, $"a key is longer than {MaxScalarChars} characters."), () => At(scalar.Start, "a key contains an unpaired UTF-16 surrogate."));
                        if (((JsonObject)top.Node).ContainsKey(scalar.Value))
                        {
                            throw At(scalar.Start, $"the key '{scalar.Value}' appears twice.");
                        }

                        _open.Pop();
                        _open.Push((top.Node, scalar.Value));
                        break;
                    case Scalar scalar:
                        root = Add(ConvertScalar(scalar), scalar.Start) ?? root;
                        break;
                    case NodeEvent { Start: var start } when _open.Count > 0 && _open.Peek() is { Node: JsonObject, PendingKey: null }:
                        throw At(start, "a key must be a plain value, not a list or an object.");
                    case MappingStart or SequenceStart:
                        var open = (NodeEvent)e;
                        if (_open.Count == MaxDepth)
                        {
                            throw At(open.Start, $"nested more than {MaxDepth} levels deep.");
                        }

                        JsonNode container = e is MappingStart ? new JsonObject() : new JsonArray();
                        root = Add(container, open.Start) ?? root;
                        _open.Push((container, null));
                        break;
                    case MappingEnd or SequenceEnd:
                        _open.Pop();
                        break;
                }
            }

            if (Next() is DocumentStart second)
            {
                throw At(second.Start, "a second YAML document starts here; a config file holds one document.");
            }

            return root;
        }

        /// <summary>Adds a value to the innermost open list or object; returns it when it is the document's root.</summary>
        private JsonNode? Add(JsonNode? value, Mark start)
        {
            if (_open.Count == 0)
            {
                return value;
            }

            var (node, key) = _open.Pop();
            if (node is JsonArray array)
            {
                if (array.Count == MaxEntries)
                {
                    throw At(start, $"a list has more than {MaxEntries} entries.");
                }

                array.Add(value);
                _open.Push((node, null));
            }
            else
            {
                var obj = (JsonObject)node;
                if (obj.Count == MaxEntries)
                {
                    throw At(start, $"an object has more than {MaxEntries} entries.");
                }

                obj[key!] = value;
                _open.Push((node, null));
            }

            return null;
        }

        /// <summary>YAML 1.2 core schema: a plain scalar may be null, a boolean or a number; quoted ones (and <c>!!str</c>) are strings.</summary>
        private JsonValue? ConvertScalar(Scalar scalar)
        {
            var value = scalar.Value;
            CheckScalar(value, () => At(scalar.Start, $"a value is longer than {MaxScalarChars} characters."), () => At(scalar.Start, "a value contains an unpaired UTF-16 surrogate."));
            if (scalar.Style is not ScalarStyle.Plain || (!scalar.Tag.IsEmpty && scalar.Tag.Value == YamlStr))
            {
                return JsonValue.Create(value);
            }

            switch (value)
            {
                case "" or "~" or "null" or "Null" or "NULL":
                    return null;
                case "true" or "True" or "TRUE":
                    return JsonValue.Create(true);
                case "false" or "False" or "FALSE":
                    return JsonValue.Create(false);
            }

            var isInteger = long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer);
            if (!isInteger && !(value.Length > 0 && char.IsAsciiDigit(value[^1]) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            {
                return JsonValue.Create(value);
            }

            if (!isInteger && !double.IsFinite(double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture)))
            {
                throw At(scalar.Start, $"the number {value} is out of range; quote it if you mean the text.");
            }

            // Numbers keep the text they were written as (1.10 stays 1.10 where a text value such as an environment variable takes it).
            return JsonNumber().IsMatch(value) ? JsonValue.Create(JsonElement.Parse(value)) : JsonValue.Create(isInteger ? integer : double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        private void Expect<T>()
            where T : ParsingEvent
        {
            if (Next() is not T)
            {
                throw At(_last, "not a YAML document.");
            }
        }

        /// <summary>
        /// The next event. YamlDotNet reports malformed input as <see cref="YamlException"/>; a few inputs trip its
        /// scanner into an <see cref="InvalidOperationException"/>, and a malformed global tag (<c>!&lt;%&gt;</c>) is an
        /// <see cref="ArgumentException"/> from its parser. All are reported with the position.
        /// </summary>
        private ParsingEvent Next()
        {
            try
            {
                if (!_parser.MoveNext() || _parser.Current is null)
                {
                    throw At(_last, "the document ends unexpectedly.");
                }
            }
            catch (YamlException ex)
            {
                throw At(ex.Start, ex.InnerException?.Message ?? ex.Message);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                throw At(_last, $"the YAML parser cannot continue after this point ({ex.Message}).");
            }

            _last = _parser.Current.Start;
            return _parser.Current;
        }

        private OrchestrationException At(Mark mark, string problem)
            => Invalid(source, string.Create(CultureInfo.InvariantCulture, $"not valid YAML at line {mark.Line}, column {mark.Column}: {problem}"));
    }
}
