using System.CommandLine;
using System.Globalization;
using Bpi.Orchestration.Cli.Demo;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;
using Spectre.Console;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary><c>demo</c>: the whole product in one command (see <see cref="DemoRunner"/>).</summary>
internal static class DemoCommand
{
    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        var keep = new Option<bool>("--keep-state") { Description = "Keep the demo's state directory (deployment records, audit trail) instead of deleting it." };
        var sample = new Option<string?>("--sample-service") { Description = "The SampleService .dll to run (default: the copy built next to this tool)." };
        var runtime = new Option<string>("--runtime") { Description = "Where instances run: process (local processes, needs only the .NET SDK) or docker (DockLock-hardened containers on the Docker Engine, from an image built of /bin/busybox; exit 11 when no engine answers).", DefaultValueFactory = _ => "process" };
        runtime.AcceptOnlyFromAmong("process", "docker");
        var command = new Command("demo", "Deploy SampleService v1 (3 local processes, or containers with --runtime docker), canary v2 (promoted), canary v3 with 30% errors (rolled back), verify the audit trail, clean up; exit 0 only when all of it behaved.") { keep, sample, runtime };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "demo");
            var explicitState = parse.GetResult(factory.Globals.StateDir) is not null || ctx.Env.GetVariable(CliEnvironment.StateDirVariable) is { Length: > 0 };
            var state = explicitState ? ctx.State : new StateDirectory(Path.Combine(Path.GetTempPath(), "bpi-orchestration-demo-" + Guid.NewGuid().ToString("N")[..8]));
            await using var demoRuntime = await OpenRuntimeAsync(ctx.Get(runtime) ?? "process", ctx.Get(sample), ct).ConfigureAwait(false);
            var stateLock = await state.TryLockAsync("demo", TimeSpan.Zero, ctx.Env.Time, ct).ConfigureAwait(false) ?? throw ctx.Busy();
            DemoReportView report;
            try
            {
                report = await new DemoRunner(ctx.Env, state, demoRuntime, ctx.Json).RunAsync(stateLock, ct).ConfigureAwait(false);
            }
            finally
            {
                if (!explicitState && !ctx.Get(keep))
                {
                    TryDelete(state.Path);
                }
            }

            if (ctx.Json)
            {
                StatusRenderer.WriteJson(ctx.Env, report, CliJson.Context.DemoReportView);
            }
            else
            {
                var verdict = report.Passed
                    ? string.Create(CultureInfo.InvariantCulture, $"Demo passed in {report.Seconds:0.0} s: v2 promoted, v3 rolled back while v2 kept serving, audit trail verified ({report.AuditEntries} entries), nothing left ({demoRuntime.Instances}).")
                    : $"Demo FAILED: {string.Join("; ", report.Checks.Where(c => !c.Passed).Select(c => $"{c.Name} ({c.Detail})"))}";
                if (ctx.Env.Interactive)
                {
                    ctx.Env.Console.MarkupLine(report.Passed ? $"[green bold]{Markup.Escape(verdict)}[/]" : $"[red bold]{Markup.Escape(verdict)}[/]");
                }
                else
                {
                    ctx.Env.Console.WriteLine(verdict);
                }

                if (ctx.Get(keep) || explicitState)
                {
                    ctx.Env.Console.WriteLine($"State kept in {state.Path}: try `bpi-orchestration --state-dir {state.Path} list-deployments --detailed` or `audit verify`.");
                }
            }

            return report.Passed ? ExitCodes.Success : ExitCodes.Failed;
        });
        yield return command;
    }

    private static async Task<DemoRuntime> OpenRuntimeAsync(string runtime, string? sampleServiceDll, CancellationToken cancellationToken)
    {
        if (runtime == "docker")
        {
            return await DockerDemoRuntime.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        var dll = sampleServiceDll ?? Path.Combine(AppContext.BaseDirectory, "sample-service", "Bpi.Orchestration.SampleService.dll");
        if (!File.Exists(dll))
        {
            throw new CliException(ExitCodes.NotFound, $"the sample service is not at {dll}; build the CLI project (it copies SampleService next to itself) or pass --sample-service <path to Bpi.Orchestration.SampleService.dll>.");
        }

        return new ProcessDemoRuntime(dll);
    }

    private static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory; the OS cleans it eventually.
        }
    }
}
