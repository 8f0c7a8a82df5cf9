using System.Diagnostics;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Cli.Tests.Fuzz;

/// <summary>
/// One parser the fuzz suite drives. To fuzz another parser, add one of these to <see cref="ParserFuzzTests.Parsers"/>:
/// a name, the call, the valid documents its generator mutates, and the folder under <c>Fuzz/Corpus</c> whose files it
/// replays first. A case passes when the parser returns or refuses the input with a typed error
/// (<see cref="IsTypedRefusal"/>); any other exception is a crash, a case over <see cref="MaxCaseTime"/> a hang.
/// </summary>
/// <param name="Name">How the summary names the parser, and its corpus folder.</param>
/// <param name="Parse">Parses one document; the result is ignored.</param>
/// <param name="Seeds">Valid documents the generator mutates.</param>
/// <param name="Json">Whether documents are JSON (the generator then mutates JSON tokens, else YAML ones).</param>
public sealed record ParserUnderFuzz(string Name, Action<string> Parse, IReadOnlyList<string> Seeds, bool Json)
{
    /// <summary>A hang detector, not a timing assertion: no case should come near it.</summary>
    public static readonly TimeSpan MaxCaseTime = TimeSpan.FromSeconds(5);

    /// <summary>Generous: a bomb allocates gigabytes.</summary>
    public const long MaxCaseBytes = 256L * 1024 * 1024;

    /// <summary>The exceptions that are a typed refusal; by default an <see cref="OrchestrationException"/> of kind InvalidConfiguration.</summary>
    public Func<Exception, bool> IsTypedRefusal { get; init; } = ex => ex is OrchestrationException { Kind: OrchestrationErrorKind.InvalidConfiguration };

    /// <summary>Extra named cases built in code (too large to keep as files).</summary>
    public IReadOnlyList<(string Name, string Text)> BuiltInCases { get; init; } = [];

    public override string ToString() => Name;
}

/// <summary>What one fuzz run saw.</summary>
public sealed class FuzzStatistics(string parser)
{
    private readonly List<string> _failures = [];

    public int Cases { get; private set; }

    public int Accepted { get; private set; }

    public int Refused { get; private set; }

    public int Crashes { get; private set; }

    public int Hangs { get; private set; }

    public int OverMemory { get; private set; }

    public long WorstBytes { get; private set; }

    public string WorstBytesCase { get; private set; } = "";

    public TimeSpan WorstTime { get; private set; }

    public TimeSpan Total { get; private set; }

    public IReadOnlyList<string> Failures => _failures;

    /// <summary>Runs one case and records its outcome; returns whether it passed.</summary>
    public bool Run(ParserUnderFuzz parser, string name, string text)
    {
        Cases++;
        var clock = Stopwatch.StartNew();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Exception? error = null;
        try
        {
            parser.Parse(text);
        }
        catch (Exception ex)
        {
            error = ex;
        }

        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        var time = clock.Elapsed;
        Total += time;
        if (bytes > WorstBytes)
        {
            (WorstBytes, WorstBytesCase) = (bytes, name);
        }

        WorstTime = time > WorstTime ? time : WorstTime;
        var passed = true;
        if (error is null)
        {
            Accepted++;
        }
        else if (parser.IsTypedRefusal(error))
        {
            Refused++;
        }
        else
        {
            Crashes++;
            passed = Fail(name, text, $"crash: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
        }

        if (time > ParserUnderFuzz.MaxCaseTime)
        {
            Hangs++;
            passed = Fail(name, text, string.Create(CultureInfo.InvariantCulture, $"took {time.TotalSeconds:0.0} s"));
        }

        if (bytes > ParserUnderFuzz.MaxCaseBytes)
        {
            OverMemory++;
            passed = Fail(name, text, string.Create(CultureInfo.InvariantCulture, $"allocated {bytes / 1048576.0:0} MiB"));
        }

        return passed;
    }

    public string Summary() => string.Create(
        CultureInfo.InvariantCulture,
        $"fuzz {parser}: {Cases} cases ({Accepted} accepted, {Refused} refused with a typed error), crashes {Crashes}, hangs {Hangs}, over memory {OverMemory}, worst memory {WorstBytes / 1048576.0:0.0} MiB ({WorstBytesCase}), slowest case {WorstTime.TotalMilliseconds:0} ms, total {Total.TotalSeconds:0.0} s");

    private static string Escape(string text)
    {
        var escaped = new System.Text.StringBuilder(text.Length);
        foreach (var c in text)
        {
            escaped.Append(c == '\\' ? "\\\\" : char.IsSurrogate(c) || (char.IsControl(c) && c != '\n') ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return escaped.ToString();
    }

    private bool Fail(string name, string text, string what)
    {
        // The whole input goes to a file, to replay it by hand: escaped (\uXXXX) where it is not valid UTF-16 or a control character.
        var directory = Path.Combine(Path.GetTempPath(), "bpi-fuzz-failures");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"{parser}-{Guid.NewGuid():N}.txt");
        File.WriteAllText(file, Escape(text));
        var shown = text.Length > 300 ? text[..300] + $"… ({text.Length} chars)" : text;
        _failures.Add($"[{name}] {what}\ninput ({file}): {shown}");
        return false;
    }
}

/// <summary>Runs a parser over its corpus and then over generated hostile documents.</summary>
public static class FuzzRunner
{
    public static FuzzStatistics Run(ParserUnderFuzz parser, int generatedCases, string corpusRoot)
    {
        var stats = new FuzzStatistics(parser.Name);
        var folder = Path.Combine(corpusRoot, parser.Name);
        foreach (var file in Directory.Exists(folder) ? Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray() : [])
        {
            stats.Run(parser, Path.GetFileName(file), File.ReadAllText(file));
        }

        foreach (var (name, text) in parser.BuiltInCases)
        {
            stats.Run(parser, name, text);
        }

        // Failures are collected, not thrown, so one run reports every crash; FsCheck still prints its replay seed.
        var number = 0;
        Prop.ForAll(HostileDocuments.For(parser).ToArbitrary(), text =>
        {
            stats.Run(parser, string.Create(CultureInfo.InvariantCulture, $"generated #{++number}"), text);
            return true;
        }).Check(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(generatedCases).WithQuietOnSuccess(true));
        return stats;
    }
}
