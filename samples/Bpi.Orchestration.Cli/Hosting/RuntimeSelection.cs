using System.Text.Json;
using System.Text.Json.Nodes;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.State;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// Where a state directory's deployments run: local processes (the default), DockLock-hardened containers on the Docker
/// Engine (<c>--runtime docker</c>, through <c>AddDocker</c>) or a Kubernetes cluster (<c>--runtime kubernetes</c>,
/// through <c>AddKubernetes</c>). The first command that uses Docker or Kubernetes records the choice (for Kubernetes with
/// its kubeconfig, context and Gateway) in <c>runtime.json</c> of the state directory, so later commands (status, rollback,
/// destroy, start) reach the same cluster without repeating the options; an option given again overrides the recorded
/// value, and asking for another runtime than the recorded one is refused, since the deployments live there.
/// </summary>
internal sealed record RuntimeSelection(string Runtime, string? Kubeconfig, string? Context, string? Gateway)
{
    public const string Process = "process";
    public const string Kubernetes = "kubernetes";
    public const string Docker = "docker";

    /// <summary>The environment variable that chooses the runtime when <c>--runtime</c> is not given.</summary>
    public const string RuntimeVariable = "BPI_ORCHESTRATION_RUNTIME";

    public static string FileOf(StateDirectory state) => System.IO.Path.Combine(state.Path, "runtime.json");

    public bool IsKubernetes => Runtime == Kubernetes;

    /// <summary>Resolves the selection of a command from its options, the environment and what the state directory recorded.</summary>
    /// <remarks>fallback: the runtime the command's input names (a config's <c>runtime:</c>, docker for a compose file), used when neither the option, the environment nor runtime.json names one.</remarks>
    public static RuntimeSelection Resolve(StateDirectory state, string? runtime, string? kubeconfig, string? context, string? gateway, Func<string, string?> getVariable, string? fallback = null)
    {
        var recordedRuntime = Read(state)?.Runtime;
        var requested = runtime ?? getVariable(RuntimeVariable) ?? (recordedRuntime is null ? fallback : null);
        if (requested is not null and not (Process or Kubernetes or Docker))
        {
            throw new CliException(ExitCodes.UsageError, $"--runtime: '{requested}' is not a runtime; use process, docker or kubernetes.");
        }

        var recorded = Read(state);
        if (recorded is not null && requested is not null && requested != recorded.Runtime)
        {
            throw new CliException(ExitCodes.UsageError, $"the deployments of state directory {state.Path} run on {recorded.Runtime} (recorded in runtime.json); pass --runtime {recorded.Runtime}, or use another --state-dir for {requested}.");
        }

        var effective = requested ?? recorded?.Runtime ?? Process;
        return effective == Kubernetes
            ? new RuntimeSelection(Kubernetes, FullPath(kubeconfig) ?? recorded?.Kubeconfig, context ?? recorded?.Context, gateway ?? recorded?.Gateway)
            : new RuntimeSelection(effective, null, null, null);
    }

    /// <summary>Records a Docker or Kubernetes selection (a process selection records nothing). Refuses to move a state directory's existing process deployments elsewhere.</summary>
    public void Record(StateDirectory state)
    {
        if (Runtime == Process)
        {
            return;
        }

        var file = FileOf(state);
        if (!File.Exists(file) && Directory.Exists(state.Deployments) && Directory.EnumerateFileSystemEntries(state.Deployments).Any())
        {
            throw new CliException(ExitCodes.UsageError, $"state directory {state.Path} already holds deployments on local processes; use another --state-dir for {Runtime}.");
        }

        var json = new JsonObject { ["runtime"] = Runtime, ["kubeconfig"] = Kubeconfig, ["context"] = Context, ["gateway"] = Gateway };
        Directory.CreateDirectory(state.Path);
        File.WriteAllText(file + ".tmp", json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(file + ".tmp", file, overwrite: true);
    }

    /// <summary>What the orchestrator host adds for this runtime: nothing for processes; the Kubernetes runtime (and, without a Gateway, no router: weights follow replicas).</summary>
    public Action<IOrchestrationBuilder>? Configure => Runtime switch
    {
        Kubernetes => builder =>
        {
            builder.AddKubernetes(Apply);
            if (Gateway is null)
            {
                // The in-process router cannot reach pods: without a Gateway, weights are approximated by replica ratio and status says so.
                builder.Services.RemoveAll<ITrafficRouter>();
            }
        },
        Docker => builder => builder.AddDocker(ApplyDocker),
        _ => null,
    };

    /// <summary>How the CLI's Docker runtime is set: stop timeout from <c>BPI_DOCKER_STOP_TIMEOUT</c> (seconds), default 10 s.</summary>
    private static void ApplyDocker(Bpi.Orchestration.Components.Docker.DockerRuntimeOptions o)
    {
        if (Environment.GetEnvironmentVariable("BPI_DOCKER_STOP_TIMEOUT") is { Length: > 0 } seconds
            && int.TryParse(seconds, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            o.StopTimeout = TimeSpan.FromSeconds(value);
        }
    }

    /// <summary>A runtime to read instances with, for the read-only commands (they never start the orchestrator).</summary>
    public async Task<(IWorkloadRuntime Runtime, IAsyncDisposable Owner)> OpenReaderAsync(StateDirectory state)
    {
        if (IsKubernetes || Runtime == Docker)
        {
            var services = new ServiceCollection();
            var builder = services.AddOrchestration(o => o.VmId = StateDirectory.VmId);
            _ = IsKubernetes ? builder.AddKubernetes(Apply) : builder.AddDocker(ApplyDocker);
            var provider = services.BuildServiceProvider();
            try
            {
                return (provider.GetRequiredService<IWorkloadRuntime>(), provider);
            }
            catch
            {
                await provider.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        var runtime = new ProcessWorkloadRuntime(Options.Create(new ProcessRuntimeOptions { StateDirectory = state.Processes }));
        return (runtime, runtime);
    }

    private void Apply(Bpi.Orchestration.Kubernetes.KubernetesRuntimeOptions o)
    {
        o.KubeconfigPath = Kubeconfig;
        o.Context = Context;
        o.GatewayParentRef = Gateway;
    }

    private static string? FullPath(string? path) => string.IsNullOrWhiteSpace(path) ? null : System.IO.Path.GetFullPath(path);

    private static RuntimeSelection? Read(StateDirectory state)
    {
        var file = FileOf(state);
        if (!File.Exists(file))
        {
            return null;
        }

        try
        {
            var json = JsonNode.Parse(BoundedFile.ReadAllBytes(file, 64 * 1024, "runtime file"));
            var runtime = (string?)json?["runtime"];
            return runtime is Kubernetes
                ? new RuntimeSelection(runtime, (string?)json?["kubeconfig"], (string?)json?["context"], (string?)json?["gateway"])
                : runtime is Docker ? new RuntimeSelection(Docker, null, null, null)
                : throw new CliException(ExitCodes.Failed, $"{file} names no runtime this CLI knows ('{runtime}'); repair or remove it.");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new CliException(ExitCodes.Failed, $"{file} is not readable JSON ({ex.Message}); repair or remove it.");
        }
    }
}
