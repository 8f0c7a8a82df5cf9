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
        var image = new Option<string?>("--image") { Description = "With --runtime kubernetes: the image to deploy (it must serve as a non-root user, e.g. nginxinc/nginx-unprivileged:1.27); v3 uses the same image with a tag that does not exist." };
        var command = new Command("demo", "Deploy SampleService v1 (3 local processes, or containers with --runtime docker), canary v2 (promoted), canary v3 with 30% errors (rolled back), verify the audit trail, clean up; exit 0 only when all of it behaved. --runtime (process, docker or kubernetes with --image) chooses where instances run: docker builds DockLock-hardened containers from /bin/busybox (exit 11 when no engine answers); kubernetes deploys the --image you name to the cluster of --kubeconfig.") { keep, sample, image };
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "demo");
            var explicitState = parse.GetResult(factory.Globals.StateDir) is not null || ctx.Env.GetVariable(CliEnvironment.StateDirVariable) is { Length: > 0 };
            var state = explicitState ? ctx.State : new StateDirectory(Path.Combine(Path.GetTempPath(), KilledDemoCleanup.DirectoryPrefix + Guid.NewGuid().ToString("N")[..8]));
            var runtime = parse.GetValue(factory.Globals.Runtime) ?? ctx.Env.GetVariable(RuntimeSelection.RuntimeVariable) ?? RuntimeSelection.Process;
            if (runtime == RuntimeSelection.Kubernetes)
            {
                return await RunOnKubernetesAsync(ctx, factory.Globals, state, explicitState, ctx.Get(image), ctx.Get(keep), ct).ConfigureAwait(false);
            }

            if (ctx.Get(image) is not null)
            {
                throw new CliException(ExitCodes.UsageError, "--image is for demo --runtime kubernetes; on process and docker the demo runs SampleService.");
            }

            if (runtime == RuntimeSelection.Process)
            {
                await RemoveKilledDemosAsync(ctx, ct).ConfigureAwait(false);
            }

            await using var demoRuntime = await OpenRuntimeAsync(runtime, ctx.Get(sample), ct).ConfigureAwait(false);
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

    private static async Task<int> RunOnKubernetesAsync(CommandContext ctx, GlobalOptions globals, StateDirectory state, bool explicitState, string? image, bool keep, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(image))
        {
            throw new CliException(ExitCodes.UsageError, "demo --runtime kubernetes needs --image <image>: an image your cluster can pull that serves as a non-root user (for example nginxinc/nginx-unprivileged:1.27).");
        }

        // The demo's own state directory (a temporary one unless --state-dir names one) records the cluster it used.
        var selection = explicitState
            ? ctx.Runtime
            : new RuntimeSelection(RuntimeSelection.Kubernetes, ctx.Get(globals.Kubeconfig) is { Length: > 0 } k ? Path.GetFullPath(k) : null, ctx.Get(globals.KubeContext), ctx.Get(globals.KubeGateway));
        var stateLock = await state.TryLockAsync("demo", TimeSpan.Zero, ctx.Env.Time, ct).ConfigureAwait(false) ?? throw ctx.Busy();
        DemoReportView report;
        try
        {
            report = await new KubernetesDemoRunner(ctx.Env, state, selection, image, ctx.Json).RunAsync(stateLock, ct).ConfigureAwait(false);
        }
        finally
        {
            if (!explicitState && !keep)
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
            ctx.Env.Console.WriteLine(report.Passed
                ? string.Create(CultureInfo.InvariantCulture, $"Demo passed in {report.Seconds:0.0} s on Kubernetes: v2 promoted, v3 rolled back while v2 kept serving, audit trail verified ({report.AuditEntries} entries), nothing left.")
                : $"Demo FAILED: {string.Join("; ", report.Checks.Where(c => !c.Passed).Select(c => $"{c.Name} ({c.Detail})"))}");
        }

        return report.Passed ? ExitCodes.Success : ExitCodes.Failed;
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

    /// <summary>
    /// Before a demo on local processes starts: removes the SampleService processes (and temporary state) of earlier demos
    /// that were killed without cleaning up (see <see cref="KilledDemoCleanup"/>); a running demo's are never touched.
    /// </summary>
    private static async Task RemoveKilledDemosAsync(CommandContext ctx, CancellationToken cancellationToken)
    {
        foreach (var line in await KilledDemoCleanup.RunAsync(Path.GetTempPath(), cancellationToken).ConfigureAwait(false))
        {
            // On stderr: stdout stays the demo's own output (its JSON report with --json).
            ctx.Env.Error.WriteLine("demo: " + line);
        }
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
