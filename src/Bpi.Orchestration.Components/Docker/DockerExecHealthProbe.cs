using Bpi.Orchestration.Components.Docker.Engine;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Docker;

/// <summary>
/// Runs <see cref="HealthCheckKind.Exec"/> checks inside an instance's container through the engine's exec API: exit code
/// 0 is healthy. Instances of other runtimes are not containers of this engine and fail the probe with a reason.
/// </summary>
internal sealed class DockerExecHealthProbe(DockerEngineClient client, TimeProvider timeProvider) : IHealthProbe
{
    private const int MaxOutputInMessage = 200;

    public bool CanProbe(HealthCheckKind kind) => kind == HealthCheckKind.Exec;

    public async ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(check);
        if (check.Command.Count == 0)
        {
            return ProbeResult.Fail("the exec health check has no command");
        }

        using var timeout = new CancellationTokenSource(check.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var result = await client.ExecAsync(instance.InstanceId, check.Command, maxOutputBytes: 4096, linked.Token).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                return ProbeResult.Pass;
            }

            var output = (result.Stderr.Length > 0 ? result.Stderr : result.Stdout).Trim();
            output = output.Length > MaxOutputInMessage ? output[..MaxOutputInMessage] + "…" : output;
            return ProbeResult.Fail($"'{string.Join(' ', check.Command)}' exited with code {result.ExitCode}{(output.Length > 0 ? ": " + output : "")}");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return ProbeResult.Fail($"'{string.Join(' ', check.Command)}' did not finish within {check.Timeout.TotalSeconds:0.###} s");
        }
        catch (DockerEngineException exception)
        {
            return ProbeResult.Fail(exception.Message);
        }
    }
}
