using System.Globalization;
using System.Reflection;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Options;
using Xunit;

namespace Bpi.Orchestration.Components.Tests.Processes;

/// <summary>A process runtime on a fresh state directory, for one test; on dispose it removes what is left and checks that no process of the test survives.</summary>
internal sealed class RuntimeScope : IAsyncDisposable
{
    private readonly List<ProcessWorkloadRuntime> _runtimes = [];

    public RuntimeScope(Action<ProcessRuntimeOptions>? configure = null)
    {
        Directory.CreateDirectory(StateDirectory);
        Configure = configure;
        Runtime = NewRuntime();
    }

    public string Id { get; } = "t" + Guid.NewGuid().ToString("N")[..10];

    public string StateDirectory => Path.Combine(Path.GetTempPath(), "bpi-orchestration-tests", Id);

    public string DeploymentId => Id;

    public Action<ProcessRuntimeOptions>? Configure { get; }

    public ProcessWorkloadRuntime Runtime { get; private set; }

    public string TempFile(string name) => Path.Combine(StateDirectory, name);

    /// <summary>Creates another runtime on the same state directory (after disposing the current one): a "restart".</summary>
    public async Task<ProcessWorkloadRuntime> RestartAsync()
    {
        await Runtime.DisposeAsync();
        Runtime = NewRuntime();
        return Runtime;
    }

    public WorkloadRevision Shell(string script, int revision = 1, string component = "app", IReadOnlyList<PortSpec>? ports = null,
        IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string>? secrets = null, string? deployment = null)
        => Revision(new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", script] }, revision, component, ports, environment, secrets, deployment);

    public WorkloadRevision Revision(CommandSpec command, int revision = 1, string component = "app", IReadOnlyList<PortSpec>? ports = null,
        IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string>? secrets = null, string? deployment = null) => new()
    {
        OwnerId = "vm-tests",
        DeploymentId = deployment ?? DeploymentId,
        DeploymentName = "demo",
        AppId = "shop",
        Environment = "test",
        Revision = revision,
        Component = new ComponentSpec
        {
            Id = component,
            Command = command,
            Ports = ports ?? [],
            Environment = environment ?? new Dictionary<string, string>(),
            Secrets = secrets ?? new Dictionary<string, string>(),
        },
    };

    public Task<IReadOnlyList<WorkloadInstance>> WaitForAsync(Func<IReadOnlyList<WorkloadInstance>, bool> done, string what, string? deployment = null)
        => Eventually.UntilAsync(async () => await Runtime.GetInstancesAsync(deployment ?? DeploymentId), done, what);

    public static string SampleServiceDll => typeof(RuntimeScope).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SampleServiceDll").Value!;

    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var deployment in (await Runtime.ListOwnedAsync()).Select(i => i.DeploymentId).Distinct())
            {
                await Runtime.RemoveDeploymentAsync(deployment);
            }

            await Eventually.UntilAsync(() => ProcFs.WithEnvironment("BPI_DEPLOYMENT_ID=" + Id).Count == 0, $"every process of test {Id} to be gone", TimeSpan.FromSeconds(15));
        }
        finally
        {
            foreach (var runtime in _runtimes)
            {
                await runtime.DisposeAsync();
            }

            try
            {
                Directory.Delete(StateDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private ProcessWorkloadRuntime NewRuntime()
    {
        var options = new ProcessRuntimeOptions { StateDirectory = StateDirectory, GracePeriod = TimeSpan.FromSeconds(5) };
        Configure?.Invoke(options);
        var runtime = new ProcessWorkloadRuntime(Options.Create(options));
        _runtimes.Add(runtime);
        return runtime;
    }
}
