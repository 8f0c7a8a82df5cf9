using System.Globalization;
using System.Text;

namespace Bpi.Orchestration.Cli.Output;

/// <summary>
/// Makes untrusted text safe for a terminal: config values, record fields and the lock's owner file can hold escape
/// sequences (clear screen, window title, hyperlinks) or bidirectional overrides. Every control character but line feed
/// and tab is written as a visible <c>\u001b</c>-style escape instead. JSON output needs none of this: the serializer
/// escapes control characters itself.
/// </summary>
internal static class TerminalText
{
    /// <summary>Whether <paramref name="c"/> is shown as an escape: C0 controls but \n and \t, DEL, C1 controls, and bidirectional embedding/override/isolate marks.</summary>
    public static bool NeedsEscape(char c)
        => (c < ' ' && c is not '\n' and not '\t') || c is >= '\u007f' and <= '\u009f' || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069';

    /// <summary>The text with every control character shown as an escape.</summary>
    public static string Sanitize(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(NeedsEscape))
        {
            return text ?? "";
        }

        var builder = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            // A line break written as \r\n (Windows) stays a line break.
            if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                builder.Append('\r');
                continue;
            }

            Append(builder, text[i]);
        }

        return builder.ToString();
    }

    /// <summary>Sanitized, then escaped for Spectre markup (the replacement of <c>Markup.Escape</c> for untrusted values).</summary>
    public static string Markup(string? text) => Spectre.Console.Markup.Escape(Sanitize(text));

    internal static void Append(StringBuilder builder, char c)
    {
        if (NeedsEscape(c))
        {
            builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
        }
        else
        {
            builder.Append(c);
        }
    }
}

/// <summary>A writer that passes text through <see cref="TerminalText"/>: standard error, and standard output when no ANSI styling is written to it.</summary>
internal sealed class TerminalTextWriter(TextWriter inner) : TextWriter(CultureInfo.InvariantCulture)
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        // Single characters come from writers that format line breaks (\r of \r\n included); a lone \r only returns the cursor.
        if (TerminalText.NeedsEscape(value) && value != '\r')
        {
            inner.Write(TerminalText.Sanitize(value.ToString()));
        }
        else
        {
            inner.Write(value);
        }
    }

    public override void Write(string? value) => inner.Write(TerminalText.Sanitize(value));

    public override void WriteLine(string? value) => inner.WriteLine(TerminalText.Sanitize(value));

    public override void WriteLine() => inner.WriteLine();

    public override void Flush() => inner.Flush();

    public override string ToString() => inner.ToString() ?? "";
}
