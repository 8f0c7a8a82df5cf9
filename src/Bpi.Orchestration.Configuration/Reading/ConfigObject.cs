using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bpi.Orchestration.Configuration;

/// <summary>
/// Reads the fields of one object of a config document, collecting every problem (wrong type, out of range, missing,
/// unknown field) with its path instead of stopping at the first.
/// </summary>
internal sealed class ConfigObject
{
    private readonly JsonObject _node;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public ConfigObject(JsonObject node, string path, List<string> errors)
    {
        _node = node;
        Path = path;
        Errors = errors;
    }

    public string Path { get; }

    public List<string> Errors { get; }

    public bool Has(string name) => _node.ContainsKey(name);

    public string At(string name) => Path.Length == 0 ? name : Path + "." + name;

    public void Error(string name, string problem) => Errors.Add($"{At(name)}: {problem}");

    public JsonNode? Raw(string name)
    {
        _read.Add(name);
        return _node[name];
    }

    public string? String(string name, bool required = false)
    {
        var node = Raw(name);
        if (node is null)
        {
            if (required)
            {
                Error(name, "is required.");
            }

            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String)
        {
            return value.GetValue<string>();
        }

        Error(name, NotAString(node));
        return null;
    }

    /// <summary>
    /// A text value that may also be written as a number or a boolean, taken as written (<c>RETRIES: 3</c> is "3",
    /// <c>DEBUG: true</c> is "true"): environment, secrets, labels, headers, runtime settings, counts or percentages.
    /// Identifiers, names, programs and paths use <see cref="String"/>, which refuses them.
    /// </summary>
    public string? Text(string name)
    {
        var node = Raw(name);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
        }

        Error(name, $"must be a string, not {Describe(node)}.");
        return null;
    }

    /// <summary>Why a node is not a string; an unquoted boolean or number gets the hint to quote it.</summary>
    public static string NotAString(JsonNode? node) => node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number
        ? $"must be a string, not the {(v.GetValueKind() == JsonValueKind.Number ? "number" : "boolean")} {v.ToJsonString()}; quote it (\"{v.ToJsonString()}\") if you mean the text."
        : $"must be a string, not {Describe(node)}.";

    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        var node = Raw(name);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
            && double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n == Math.Floor(n))
        {
            if (n < min || n > max)
            {
                Error(name, string.Create(CultureInfo.InvariantCulture, $"{n} must be {(max == int.MaxValue ? $"at least {min}" : $"{min}-{max}")}."));
                return null;
            }

            return (int)n;
        }

        Error(name, $"must be a whole number, not {Describe(node)}.");
        return null;
    }

    public double? Number(string name, double min = double.MinValue, double max = double.MaxValue)
    {
        var node = Raw(name);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
        {
            if (n < min || n > max)
            {
                Error(name, string.Create(CultureInfo.InvariantCulture, $"{n} must be between {min} and {max}."));
                return null;
            }

            return n;
        }

        Error(name, $"must be a number, not {Describe(node)}.");
        return null;
    }

    /// <summary>An absolute http or https URL.</summary>
    public Uri? Url(string name, bool required = false)
    {
        var text = String(name, required);
        if (text is null)
        {
            return null;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        Error(name, $"'{text}' is not an absolute http or https URL.");
        return null;
    }

    public bool? Bool(string name)
    {
        var node = Raw(name);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetValue<bool>();
        }

        Error(name, $"must be true or false, not {Describe(node)}.");
        return null;
    }

    /// <summary>A duration: <c>500ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, a number of seconds, or <c>hh:mm:ss</c>.</summary>
    public TimeSpan? Duration(string name)
    {
        var node = Raw(name);
        if (node is null)
        {
            return null;
        }

        if (node is JsonValue value && TryParseDuration(value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString(), out var duration))
        {
            return duration;
        }

        Error(name, $"must be a duration such as 500ms, 5s, 2m or 1h, not {Describe(node)}.");
        return null;
    }

    public TEnum? Enum<TEnum>(string name, bool required = false)
        where TEnum : struct, Enum
    {
        var text = String(name, required);
        if (text is null)
        {
            return null;
        }

        if (TryParseEnum<TEnum>(text, out var value))
        {
            return value;
        }

        Error(name, $"'{text}' is not one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(CamelCase))}.");
        return null;
    }

    public ConfigObject? Object(string name, bool required = false)
    {
        var node = Raw(name);
        switch (node)
        {
            case null:
                if (required)
                {
                    Error(name, "is required.");
                }

                return null;
            case JsonObject obj:
                return new ConfigObject(obj, At(name), Errors);
            default:
                Error(name, $"must be an object (key: value pairs), not {Describe(node)}.");
                return null;
        }
    }

    /// <summary>A list; a single value is accepted as a list of one when <paramref name="single"/> is set.</summary>
    public IReadOnlyList<(JsonNode? Node, string Path)>? List(string name, bool required = false, bool single = false)
    {
        var node = Raw(name);
        switch (node)
        {
            case null:
                if (required)
                {
                    Error(name, "is required.");
                }

                return null;
            case JsonArray array:
                return [.. array.Select((n, i) => (n, string.Create(CultureInfo.InvariantCulture, $"{At(name)}[{i}]")))];
            default:
                if (single)
                {
                    return [(node, At(name))];
                }

                Error(name, $"must be a list, not {Describe(node)}.");
                return null;
        }
    }

    /// <summary>A list of strings; <paramref name="numbers"/> also takes numbers as written (program arguments).</summary>
    public IReadOnlyList<string>? StringList(string name, bool single = false, bool numbers = false)
    {
        var items = List(name, single: single);
        if (items is null)
        {
            return null;
        }

        var result = new List<string>();
        foreach (var (node, path) in items)
        {
            if (node is JsonValue value && (value.GetValueKind() == JsonValueKind.String || (numbers && value.GetValueKind() == JsonValueKind.Number)))
            {
                result.Add(value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString());
            }
            else
            {
                Errors.Add($"{path}: {NotAString(node)}");
            }
        }

        return result;
    }

    public IReadOnlyDictionary<string, string>? StringMap(string name)
    {
        var map = Object(name);
        if (map is null)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in map.Keys)
        {
            if (map.Text(key) is { } value)
            {
                result[key] = value;
            }
        }

        return result;
    }

    public IEnumerable<string> Keys => [.. _node.Select(p => p.Key)];

    /// <summary>Reports every field that was not read as unknown, naming the known ones.</summary>
    public void RejectUnknown()
    {
        foreach (var key in Keys.Where(k => !_read.Contains(k)))
        {
            Error(key, $"unknown field; known fields here: {string.Join(", ", _read.Order(StringComparer.Ordinal))}.");
        }
    }

    public static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => $"\"{v.GetValue<string>()}\"",
        _ => node.ToJsonString(),
    };

    /// <summary>Parses a duration; false for text that is not one, and for amounts a <see cref="TimeSpan"/> cannot hold (<c>1e308s</c>, <c>Infinity</c>).</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        text = text.Trim();
        duration = default;
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, scale) in units)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount >= 0)
            {
                return TryFromSeconds(amount * scale, out duration);
            }
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TryFromSeconds(seconds, out duration);
        }

        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration >= TimeSpan.Zero;
    }

    /// <summary>A number of seconds as a <see cref="TimeSpan"/>; false (not an overflow) beyond <see cref="TimeSpan.MaxValue"/>, for infinity or NaN.</summary>
    private static bool TryFromSeconds(double seconds, out TimeSpan duration)
    {
        duration = default;
        if (!double.IsFinite(seconds) || seconds >= TimeSpan.MaxValue.TotalSeconds)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    public static bool TryParseEnum<TEnum>(string text, out TEnum value)
        where TEnum : struct, Enum
    {
        var normalized = text.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        return System.Enum.TryParse(normalized, ignoreCase: true, out value) && System.Enum.IsDefined(value) && !char.IsAsciiDigit(normalized[0]);
    }

    public static string CamelCase(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
