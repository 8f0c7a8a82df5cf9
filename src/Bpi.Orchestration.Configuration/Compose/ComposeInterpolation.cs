using System.Text;

namespace Bpi.Orchestration.Configuration.Compose;

/// <summary>
/// Compose's variable interpolation: <c>${VAR}</c>, <c>$VAR</c>, <c>${VAR:-default}</c> (unset or empty),
/// <c>${VAR-default}</c> (unset), <c>${VAR:?message}</c> / <c>${VAR?message}</c> (required) and <c>$$</c> for a
/// literal <c>$</c>. A default may itself hold variables.
/// </summary>
internal static class ComposeInterpolation
{
    public static string Interpolate(string text, Func<string, string?> lookup, string path, List<string> errors)
    {
        if (!text.Contains('$', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c != '$' || i + 1 >= text.Length)
            {
                result.Append(c);
                i++;
                continue;
            }

            var next = text[i + 1];
            if (next == '$')
            {
                result.Append('$');
                i += 2;
            }
            else if (next == '{')
            {
                var end = FindClose(text, i + 2);
                if (end < 0)
                {
                    errors.Add($"{path}: '{text}' has a '${{' without its closing '}}'.");
                    return text;
                }

                result.Append(Expand(text[(i + 2)..end], lookup, path, errors));
                i = end + 1;
            }
            else if (char.IsAsciiLetter(next) || next == '_')
            {
                var start = i + 1;
                var stop = start;
                while (stop < text.Length && (char.IsAsciiLetterOrDigit(text[stop]) || text[stop] == '_'))
                {
                    stop++;
                }

                result.Append(lookup(text[start..stop]) ?? "");
                i = stop;
            }
            else
            {
                result.Append(c);
                i++;
            }
        }

        return result.ToString();
    }

    private static int FindClose(string text, int from)
    {
        var depth = 0;
        for (var j = from; j < text.Length; j++)
        {
            if (text[j] == '{')
            {
                depth++;
            }
            else if (text[j] == '}')
            {
                if (depth == 0)
                {
                    return j;
                }

                depth--;
            }
        }

        return -1;
    }

    private static string Expand(string body, Func<string, string?> lookup, string path, List<string> errors)
    {
        var nameEnd = 0;
        while (nameEnd < body.Length && (char.IsAsciiLetterOrDigit(body[nameEnd]) || body[nameEnd] == '_'))
        {
            nameEnd++;
        }

        var name = body[..nameEnd];
        if (name.Length == 0 || char.IsAsciiDigit(name[0]))
        {
            errors.Add($"{path}: '${{{body}}}' does not name a variable.");
            return "";
        }

        var value = lookup(name);
        var rest = body[nameEnd..];
        if (rest.Length == 0)
        {
            return value ?? "";
        }

        var colon = rest[0] == ':';
        var op = colon ? (rest.Length > 1 ? rest[1] : '\0') : rest[0];
        var argument = rest[(colon ? 2 : 1)..];
        var missing = value is null || (colon && value.Length == 0);
        switch (op)
        {
            case '-':
                return missing ? Interpolate(argument, lookup, path, errors) : value!;
            case '+':
                return missing ? "" : Interpolate(argument, lookup, path, errors);
            case '?':
                if (missing)
                {
                    errors.Add($"{path}: the variable {name} is required{(argument.Length > 0 ? ": " + argument : ".")}");
                    return "";
                }

                return value!;
            default:
                errors.Add($"{path}: '${{{body}}}' is not a substitution Compose knows; use ${{{name}}}, ${{{name}:-default}} or ${{{name}:?message}}.");
                return "";
        }
    }
}
