using Bpi.Orchestration.Cli;

// The bpi-orchestration command. Everything lives in CliApp so tests can run commands in-process.
using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C: stop gracefully (a rollout keeps its cursor; the demo cleans up). A second one kills the process.
    if (!interrupted.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupted.Cancel();
    }
};
using var terminated = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    interrupted.Cancel();
});

return await CliApp.RunAsync(args, CliEnvironment.FromProcess(), interrupted.Token);
