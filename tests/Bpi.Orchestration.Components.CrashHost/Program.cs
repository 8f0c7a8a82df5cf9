// A child process for the process runtime's crash tests: opens a ProcessWorkloadRuntime on a state directory, prints
// "scaling" on stdout, scales one revision of `/bin/sleep 600` up, then prints "scaled" and waits until its stdin
// closes. The test kills it with SIGKILL a chosen number of milliseconds after "scaling" (that is, somewhere inside the
// scale-up), then opens the runtime on the same directory as the next command would and checks that every process the
// dead host started is tracked, and that removing the deployment leaves nothing behind.
//
// Usage: dotnet Bpi.Orchestration.Components.CrashHost.dll <state-directory> <deployment-id> <replicas> <marker>
// <marker> goes into each instance's environment as CRASH_TEST_MARKER, so the test finds the processes by itself.
using System.Globalization;
using Bpi.Orchestration;
using Bpi.Orchestration.Processes;
using Bpi.Orchestration.Runtime;
using Microsoft.Extensions.Options;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: <state-directory> <deployment-id> <replicas> <marker>");
    return 2;
}

await using var runtime = new ProcessWorkloadRuntime(Options.Create(new ProcessRuntimeOptions { StateDirectory = args[0], GracePeriod = TimeSpan.FromSeconds(2) }));
await runtime.ListOwnedAsync(); // open the state directory (and adopt what an earlier host left) before the step starts
var revision = new WorkloadRevision
{
    OwnerId = "crash-host",
    DeploymentId = args[1],
    DeploymentName = "crash",
    AppId = "crash",
    Environment = "test",
    Revision = 1,
    Component = new ComponentSpec
    {
        Id = "sleeper",
        Command = new CommandSpec { FileName = "/bin/sleep", Arguments = ["600"] },
        Environment = new Dictionary<string, string> { ["CRASH_TEST_MARKER"] = args[3] },
    },
};

// Warm up: start and remove one instance of another deployment, so the timed scale-up below runs warm code (as a
// later step of a real rollout does) and the kill moments 0–50 ms after "scaling" fall inside it.
var warmUp = revision with { DeploymentId = args[1] + "-warmup" };
await runtime.EnsureReplicasAsync(warmUp, 1);
await runtime.RemoveDeploymentAsync(warmUp.DeploymentId);

var stdout = Console.Out;
stdout.WriteLine("scaling");
stdout.Flush();
await runtime.EnsureReplicasAsync(revision, int.Parse(args[2], CultureInfo.InvariantCulture));
stdout.WriteLine("scaled");
stdout.Flush();
await Console.In.ReadToEndAsync();
return 0;
