using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Bpi.Orchestration.Cli.Output;

/// <summary>Prints deployments as tables (people) or JSON (<c>--output json</c>, programs).</summary>
internal static class StatusRenderer
{
    public static void WriteJson<T>(CliEnvironment env, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo)
    {
        env.Output.WriteLine(JsonSerializer.Serialize(value, typeInfo));
        env.Output.Flush();
    }

    public static void WriteHealth(CliEnvironment env, HealthView health)
    {
        var c = env.Console;
        c.WriteLine(health.Source == HealthView.Sources.Live
            ? string.Create(CultureInfo.InvariantCulture, $"Orchestrator: running (published {health.ObservedAt:u})")
            : "Orchestrator: not running on this state directory (circuit breakers exist only while one runs: `bpi-orchestration start`)");
        c.WriteLine($"Runtime {TerminalText.Sanitize(health.Runtime)}: {(health.RuntimeReachable ? "reachable" : "unreachable: " + TerminalText.Sanitize(health.RuntimeError))}");
        if (health.CircuitBreakers.Count == 0)
        {
            c.WriteLine("Circuit breakers: none");
            return;
        }

        c.WriteLine("Circuit breakers:");
        foreach (var b in health.CircuitBreakers)
        {
            var since = b.Since is { } at ? string.Create(CultureInfo.InvariantCulture, $" since {at:u}") : "";
            var fault = b.LastFaultClass is null ? "" : $", last fault {b.LastFaultClass}: {TerminalText.Sanitize(b.LastFailure)}";
            c.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {TerminalText.Sanitize(b.Target)}  {b.State}{since} (opened {b.TimesOpened}x{fault})"));
        }
    }

    public static void WriteList(CliEnvironment env, DeploymentListView list, bool detailed)
    {
        if (list.Deployments.Count == 0)
        {
            env.Console.WriteLine("No deployments. Create one with `bpi-orchestration deploy --config <file>` or try `bpi-orchestration demo`.");
            return;
        }

        var table = new Table().Border(env.Interactive ? TableBorder.Rounded : TableBorder.Simple);
        table.AddColumns("ID", "NAME", "APP", "ENV", "STATE", "STRATEGY", "REVISION", "READY", "AGE");
        if (detailed)
        {
            table.AddColumns("TRAFFIC", "STEP", "MESSAGE");
        }

        var now = env.Time.GetUtcNow();
        foreach (var d in list.Deployments)
        {
            var ready = d.Components.Sum(c => c.Revisions.Sum(r => r.Ready));
            var desired = d.Components.Sum(c => c.DesiredReplicas);
            List<string> cells =
            [
                TerminalText.Markup(d.Id), TerminalText.Markup(d.Name), TerminalText.Markup(d.AppId), TerminalText.Markup(d.Environment), StateMarkup(d.State, env), TerminalText.Markup(d.Strategy),
                TerminalText.Markup(Revision(d)), string.Create(CultureInfo.InvariantCulture, $"{ready}/{desired}"), Age(now - d.CreatedAt),
            ];
            if (detailed)
            {
                cells.Add(TerminalText.Markup(Traffic(d)));
                cells.Add(TerminalText.Markup(d.CurrentStep ?? "-"));
                cells.Add(TerminalText.Markup(d.Message ?? "-"));
            }

            table.AddRow([.. cells]);
        }

        env.Console.Write(table);
        env.Console.WriteLine(string.Join("  ", list.Totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key}: {t.Value}"))));
    }

    public static void WriteStatus(CliEnvironment env, DeploymentView d)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        void Row(string name, string value, bool markup = false) => grid.AddRow(TerminalText.Markup(name), markup ? value : TerminalText.Markup(value));
        Row("Deployment", $"{d.Id} ({d.Name}, app {d.AppId}, {d.Environment})");
        Row("State", StateMarkup(d.State, env), markup: true);
        Row("Strategy", d.Strategy);
        Row("Revision", Revision(d));
        Row("Progress", string.Create(CultureInfo.InvariantCulture, $"{d.Progress}%") + (d.CurrentStep is { } step ? $" — step {step}" : ""));
        if (d.Message is { Length: > 0 } message)
        {
            Row("Message", message);
        }

        Row("Created", d.CreatedAt.ToString("u", CultureInfo.InvariantCulture) + (d.CompletedAt is { } done ? $", last rollout ended {done.ToString("u", CultureInfo.InvariantCulture)}" : ""));
        if (d.Source == DeploymentView.Sources.Store)
        {
            Row("Note", "no orchestrator runs now, so traffic weights are not known; instances are as the runtime reports them.");
        }
        else if (d.Source == DeploymentView.Sources.Record)
        {
            Row("Note", "another process holds the state directory and has not published this deployment yet: stored record only.");
        }
        else if (d.Source == DeploymentView.Sources.Live)
        {
            Row("Note", "live view from the orchestrator process that holds the state directory.");
        }

        env.Console.Write(grid);
        var table = new Table().Border(env.Interactive ? TableBorder.Rounded : TableBorder.Simple);
        table.AddColumns("COMPONENT", "REVISION", "READY", "INSTANCES", "WEIGHT");
        foreach (var c in d.Components)
        {
            if (c.Revisions.Count == 0)
            {
                table.AddRow(TerminalText.Markup(c.Id), "-", string.Create(CultureInfo.InvariantCulture, $"0/{c.DesiredReplicas}"), "0", "-");
            }

            foreach (var r in c.Revisions)
            {
                table.AddRow(
                    TerminalText.Markup(c.Id),
                    r.Revision.ToString(CultureInfo.InvariantCulture),
                    string.Create(CultureInfo.InvariantCulture, $"{r.Ready}/{(r.Revision == (d.TargetRevision ?? d.StableRevision) ? c.DesiredReplicas : r.Instances)}"),
                    r.Instances.ToString(CultureInfo.InvariantCulture),
                    r.Weight is { } w ? string.Create(CultureInfo.InvariantCulture, $"{w}%{(c.WeightsApproximated ? " (replica ratio)" : "")}") : "-");
            }
        }

        env.Console.Write(table);
    }

    public static string StateMarkup(string state, CliEnvironment env)
    {
        if (!env.Interactive)
        {
            return TerminalText.Markup(state);
        }

        var color = state switch
        {
            nameof(DeploymentState.Running) => "green",
            nameof(DeploymentState.RolledBack) => "yellow",
            nameof(DeploymentState.Failed) => "red",
            nameof(DeploymentState.Paused) => "blue",
            nameof(DeploymentState.Destroyed) => "grey",
            _ => "aqua",
        };
        return $"[{color}]{TerminalText.Markup(state)}[/]";
    }

    private static string Revision(DeploymentView d) => (d.StableRevision, d.TargetRevision) switch
    {
        ({ } s, { } t) when s != t => string.Create(CultureInfo.InvariantCulture, $"{s} -> {t}"),
        ({ } s, _) => s.ToString(CultureInfo.InvariantCulture),
        (null, { } t) => string.Create(CultureInfo.InvariantCulture, $"-> {t}"),
        _ => "-",
    };

    private static string Traffic(DeploymentView d) => string.Join("; ", d.Components.Select(c =>
        c.Id + ": " + (c.Revisions.All(r => r.Weight is null) ? "-" : string.Join(" ", c.Revisions.Where(r => r.Weight is not null).Select(r => string.Create(CultureInfo.InvariantCulture, $"r{r.Revision}={r.Weight}%"))))));

    private static string Age(TimeSpan age) => age.TotalSeconds < 90
        ? string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (int)age.TotalSeconds)}s")
        : age.TotalMinutes < 90 ? string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalMinutes}m")
        : age.TotalHours < 48 ? string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalHours}h")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalDays}d");
}
