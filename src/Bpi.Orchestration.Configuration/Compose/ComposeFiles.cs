using System.Text;

namespace Bpi.Orchestration.Configuration.Compose;

/// <summary>Reads the files a compose file names: itself, <c>.env</c> and <c>env_file</c> entries.</summary>
internal static class ComposeFiles
{
    public static async Task<string> ReadTextAsync(string path, string source, string what, CancellationToken cancellationToken)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw OrchestrationException.InvalidConfiguration(ComposeReader.Subject(source), [$"{what} {path} does not exist."]);
            }

            if (info.Length > ComposeDocument.MaxFileBytes)
            {
                throw OrchestrationException.InvalidConfiguration(ComposeReader.Subject(source), [$"{what} {path} is {info.Length} bytes long; at most {ComposeDocument.MaxFileBytes} are read."]);
            }

            return await File.ReadAllTextAsync(path, new UTF8Encoding(false, true), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw OrchestrationException.InvalidConfiguration(ComposeReader.Subject(source), [$"{what} {path} cannot be read: {e.Message}"]);
        }
    }

    /// <summary>
    /// The variables of an env file as Compose reads it: <c>KEY=VALUE</c> lines, an optional <c>export </c> prefix,
    /// blank lines and <c>#</c> comments skipped, one pair of matching quotes around a value removed.
    /// </summary>
    public static Dictionary<string, string> ParseEnvFile(string text, string path, List<string> errors)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r').Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            var key = (equals < 0 ? line : line[..equals]).Trim();
            if (key.Length == 0 || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')))
            {
                errors.Add($"{path}: line {i + 1} is not KEY=VALUE.");
                continue;
            }

            if (equals < 0)
            {
                continue; // a bare name: taken from the environment by Compose only for `environment`, not for files.
            }

            var value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] is '"' or '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
                if (line[(equals + 1)..].TrimStart()[0] == '"')
                {
                    value = value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal);
                }
            }
            else if (value.IndexOf(" #", StringComparison.Ordinal) is var comment and >= 0)
            {
                value = value[..comment].TrimEnd();
            }

            variables[key] = value;
        }

        return variables;
    }
}
