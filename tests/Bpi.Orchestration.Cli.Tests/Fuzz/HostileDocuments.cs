using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Cli.Tests.Fuzz;

/// <summary>
/// Generates hostile documents: a valid seed with one to four mutations (a value replaced by a hostile one, a byte
/// flipped, a cut, a line duplicated or swapped, a fragment inserted, deep nesting), or a document built whole
/// (random trees of the config's own field names with wrong types, deep nesting, alias bombs, very long lists).
/// FsCheck picks the seed document and a random seed; the mutations follow from that seed, so a case is replayable.
/// </summary>
public static class HostileDocuments
{
    private static readonly string[] Scalars =
    [
        "9223372036854775807", "-9223372036854775808", "18446744073709551616", "1e308s", "1e309", "-1e309", "1.79e308ms",
        "99999999h", "1300h", "Infinity", "-Infinity", "NaN", ".inf", ".nan", "0", "-1", "-0", "1.5", "1.10", "0x1F", "0o17",
        "+1", "007", "1_000", "1e5", "true", "false", "True", "null", "~", "", "\"\"", "''", "\"\\ud800\"", "\"rel\\ud800fz\"",
        "\"\\udc00x\"", "\"\\u0000\"", "\"\\u001b]0;x\\u0007\"", "\"\\x1b[2J\"", "[]", "{}", "[[[[[]]]]]", "&a x", "*a", "&a [*a]",
        "!!binary aGk=", "!!str 1", "!!int x", "!!float y", "!custom z", "|\n  block\n", ">-\n  folded\n", "? complex", ": : :",
        "- - -", "---", "...", "%YAML 1.2", "@x", "`x`", "\"unterminated", "'unterminated", "{a: 1, a: 2}", "{\"a\": 1, \"a\": 2}",
        "\t", "\u00a0", "\ufeff", "\u2028", "\"\\uD83D\\uDE00\"", "😀", "\"00:00:01\"", "\"10675199.02:48:05.4775808\"",
        "\"-10675199.02:48:05.4775808\"", "\"99999999.00:00:00\"", "\"1.00:00:00:00\"", "\"System.IO.FileInfo, System.IO.FileSystem\"",
        "\"X, Nope, Version=99.0.0.0\"", "\"a,b,c,[[[\"", "\"System.Collections.Generic.List`1[[System.String]]\"",
        "\"Bpi.Orchestration.RecreateStrategySpec, Bpi.Orchestration.Core, Culture=xx-invalid, PublicKeyToken=zz\"",
        "\"System.String[], System.Private.CoreLib\"", "\"Rolling\"", "\"Deploying\"", "\"NotAState\"", "42", "\"42\"", "-2147483649",
        "2147483648", "1e-400", "0.0000001", "\"../../../../etc/passwd\"", "\"$(touch /tmp/x)\"", "\"a\\nb\"", "'a''b'",
    ];

    private static readonly string[] FieldNames =
    [
        "name", "appId", "environment", "type", "components", "id", "command", "image", "replicas", "ports", "containerPort",
        "protocol", "resources", "cpuCores", "memoryMb", "healthCheck", "period", "timeout", "initialDelay", "failureThreshold",
        "dependsOn", "secrets", "runtimeSettings", "strategy", "steps", "setWeight", "pause", "analysis", "metrics", "metric",
        "successCondition", "min", "max", "approval", "requiredApprovals", "stepWeight", "maxWeight", "interval", "maxSurge",
        "maxUnavailable", "batchSize", "pauseBetweenBatches", "promotion", "autoPromotionDelay", "scaleDownDelay", "validation",
        "progressDeadline", "minReadyTime", "pollInterval", "rollback", "historyLimit", "labels", "security", "encryptionLevel",
        "fileName", "arguments", "workingDirectory", "prometheus", "json", "url", "jsonPath", "revisions", "spec", "state",
        "cursor", "settings", "strategy", "createdAt", "number", "kind", "stepIndex", "history", "<<", "", "a",
    ];

    private const string Interesting = "{}[]:,&*!|>'\"\\#-?%@`\n\t \0\u00e9\ud800\u202e";

    /// <summary>Documents for one parser: a seed to mutate, and a random seed for the mutations.</summary>
    public static Gen<string> For(ParserUnderFuzz parser) =>
        from seed in Gen.Elements(parser.Seeds.ToArray())
        from random in Gen.Choose(0, int.MaxValue - 1)
        select Build(seed, parser.Json, new Random(random));

    public static string Build(string seed, bool json, Random r) => r.Next(100) switch
    {
        < 75 => Mutate(seed, json, r),
        < 85 => RandomTree(json, r),
        < 92 => DeepNesting(r, r.Next(10) == 0 ? r.Next(1, 5000) : r.Next(1, 200)),
        < 96 => json ? LongList(r) : AliasBomb(r),
        _ => LongList(r),
    };

    private static string Mutate(string seed, bool json, Random r)
    {
        var text = seed;
        for (var n = r.Next(1, 5); n > 0; n--)
        {
            text = r.Next(9) switch
            {
                0 or 1 or 2 => ReplaceValue(text, Hostile(r, json), r),
                3 => Flip(text, r),
                4 => text[..r.Next(text.Length + 1)],
                5 => DuplicateLine(text, r),
                6 => text.Insert(r.Next(text.Length + 1), Hostile(r, json)),
                7 => ReplaceValue(text, DeepNesting(r, r.Next(1, 100)), r),
                _ => SwapLines(text, r),
            };
        }

        return text;
    }

    private static string Hostile(Random r, bool json) => r.Next(10) switch
    {
        < 7 => Scalars[r.Next(Scalars.Length)],
        7 => new string((char)r.Next(32, 127), r.Next(0, r.Next(3) == 0 ? 70_000 : 200)),
        8 => json ? RandomJsonValue(r, 3) : RandomYamlFlow(r, 3),
        _ => RandomUnicode(r, r.Next(1, 40)),
    };

    private static string ReplaceValue(string text, string value, Random r)
    {
        var colons = new List<int>();
        for (var i = text.IndexOf(": ", StringComparison.Ordinal); i >= 0; i = text.IndexOf(": ", i + 1, StringComparison.Ordinal))
        {
            colons.Add(i + 2);
        }

        if (colons.Count == 0)
        {
            return text + value;
        }

        var start = colons[r.Next(colons.Count)];
        var end = start;
        while (end < text.Length && text[end] is not ('\n' or ',' or '}' or ']'))
        {
            end++;
        }

        return string.Concat(text.AsSpan(0, start), value, text.AsSpan(end));
    }

    private static string Flip(string text, Random r)
    {
        if (text.Length == 0)
        {
            return Interesting[r.Next(Interesting.Length)].ToString();
        }

        var chars = text.ToCharArray();
        chars[r.Next(chars.Length)] = r.Next(2) == 0 ? Interesting[r.Next(Interesting.Length)] : (char)r.Next(0, 0x3000);
        return new string(chars);
    }

    private static string DuplicateLine(string text, Random r)
    {
        var lines = text.Split('\n').ToList();
        var i = r.Next(lines.Count);
        lines.Insert(i, lines[i]);
        return string.Join('\n', lines);
    }

    private static string SwapLines(string text, Random r)
    {
        var lines = text.Split('\n');
        var (a, b) = (r.Next(lines.Length), r.Next(lines.Length));
        (lines[a], lines[b]) = (lines[b], lines[a]);
        return string.Join('\n', lines);
    }

    /// <summary>Nested flow lists and objects; sometimes unbalanced.</summary>
    public static string DeepNesting(Random r, int depth)
    {
        var open = new StringBuilder(depth * 4);
        var close = new StringBuilder(depth * 2);
        for (var i = 0; i < depth; i++)
        {
            if (r.Next(2) == 0)
            {
                open.Append('[');
                close.Insert(0, ']');
            }
            else
            {
                open.Append("{\"a\": ");
                close.Insert(0, '}');
            }
        }

        open.Append('1');
        return r.Next(8) == 0 ? open.ToString() : open.Append(close).ToString();
    }

    private static string AliasBomb(Random r)
    {
        var levels = r.Next(2, 12);
        var width = r.Next(2, 10);
        var lines = new List<string> { $"a0: &a0 [{string.Join(", ", Enumerable.Repeat("lol", width))}]" };
        for (var i = 1; i < levels; i++)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", width))}]"));
        }

        lines.Add(r.Next(2) == 0 ? $"labels: *a{levels - 1}" : "name: x\nappId: y\ncomponents: [{id: w, command: /bin/sleep}]");
        return string.Join('\n', lines);
    }

    private static string LongList(Random r)
    {
        var count = r.Next(40) == 0 ? r.Next(10_000, 12_000) : r.Next(0, 300);
        var item = Scalars[r.Next(Scalars.Length)];
        return $"{{\"name\": \"x\", \"appId\": \"y\", \"components\": [{string.Join(", ", Enumerable.Repeat($"{{\"id\": \"w\", \"command\": {item}}}", count))}]}}";
    }

    /// <summary>A document of the config's (and the record's) own field names with values of any type.</summary>
    private static string RandomTree(bool json, Random r) => json ? RandomJsonObject(r, r.Next(1, 6)) : RandomYamlBlock(r, r.Next(1, 6), 0);

    private static string RandomJsonValue(Random r, int depth) => (depth <= 0 ? r.Next(3) : r.Next(5)) switch
    {
        0 => Scalars[r.Next(Scalars.Length)],
        1 => r.Next(2) == 0 ? "\"" + RandomUnicode(r, r.Next(0, 12)).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : r.Next(-5, 100_000).ToString(CultureInfo.InvariantCulture),
        2 => r.Next(2) == 0 ? "true" : "null",
        3 => "[" + string.Join(", ", Enumerable.Range(0, r.Next(0, 4)).Select(_ => RandomJsonValue(r, depth - 1))) + "]",
        _ => RandomJsonObject(r, depth - 1),
    };

    private static string RandomJsonObject(Random r, int depth)
        => "{" + string.Join(", ", Enumerable.Range(0, r.Next(0, 6)).Select(_ => $"\"{FieldNames[r.Next(FieldNames.Length)]}\": {RandomJsonValue(r, depth)}")) + "}";

    private static string RandomYamlFlow(Random r, int depth) => (depth <= 0 ? r.Next(2) : r.Next(4)) switch
    {
        0 => Scalars[r.Next(Scalars.Length)],
        1 => RandomUnicode(r, r.Next(0, 12)),
        2 => "[" + string.Join(", ", Enumerable.Range(0, r.Next(0, 4)).Select(_ => RandomYamlFlow(r, depth - 1))) + "]",
        _ => "{" + string.Join(", ", Enumerable.Range(0, r.Next(0, 4)).Select(_ => $"{FieldNames[r.Next(FieldNames.Length)]}: {RandomYamlFlow(r, depth - 1)}")) + "}",
    };

    private static string RandomYamlBlock(Random r, int depth, int indent)
    {
        var pad = new string(' ', indent);
        var lines = new StringBuilder();
        for (var i = r.Next(1, 6); i > 0; i--)
        {
            var key = FieldNames[r.Next(FieldNames.Length)];
            switch (depth <= 0 ? 0 : r.Next(4))
            {
                case 0 or 1:
                    lines.Append(CultureInfo.InvariantCulture, $"{pad}{key}: {RandomYamlFlow(r, 1)}\n");
                    break;
                case 2:
                    lines.Append(CultureInfo.InvariantCulture, $"{pad}{key}:\n").Append(RandomYamlBlock(r, depth - 1, indent + 2));
                    break;
                default:
                    lines.Append(CultureInfo.InvariantCulture, $"{pad}{key}:\n");
                    for (var j = r.Next(1, 4); j > 0; j--)
                    {
                        lines.Append(CultureInfo.InvariantCulture, $"{pad}  - ").Append(RandomYamlBlock(r, depth - 1, indent + 4).TrimStart());
                    }

                    break;
            }
        }

        return lines.ToString();
    }

    private static string RandomUnicode(Random r, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = r.Next(4) switch
            {
                0 => (char)r.Next(0, 32),
                1 => (char)r.Next(0xd800, 0xe000),
                _ => (char)r.Next(32, 0x3000),
            };
        }

        return new string(chars);
    }
}
