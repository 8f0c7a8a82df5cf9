using System.Globalization;
using System.Net.Sockets;
using Bpi.Orchestration.Health;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Strategies.Telemetry;

namespace Bpi.Orchestration.Strategies.Health;

/// <summary>Picks the endpoint a probe targets: the one whose port is the check's port, otherwise the instance's first endpoint.</summary>
internal static class ProbeTarget
{
    public static ServiceEndpoint? Resolve(WorkloadInstance instance, HealthCheckSpec check)
    {
        if (check.Port is { } port)
        {
            return instance.Endpoints.FirstOrDefault(e => e.Port == port) ?? instance.Endpoint;
        }

        return instance.Endpoint;
    }

    public static ProbeResult NoEndpoint(WorkloadInstance instance) => ProbeResult.Fail($"instance {instance.InstanceId} exposes no endpoint to probe");
}

/// <summary>HTTP GET of the check's path (with its headers); healthy when the status is in the expected range.</summary>
internal sealed class HttpHealthProbe(StrategiesHttp http) : IHealthProbe
{
    public bool CanProbe(HealthCheckKind kind) => kind == HealthCheckKind.Http;

    public async ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(check);
        if (ProbeTarget.Resolve(instance, check) is not { } endpoint)
        {
            return ProbeTarget.NoEndpoint(instance);
        }

        var path = check.Path.StartsWith('/') ? check.Path : "/" + check.Path;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{endpoint}{path}")));
        foreach (var (name, value) in check.Headers)
        {
            if (string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Host = value;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        try
        {
            using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return status >= check.ExpectedStatusMin && status <= check.ExpectedStatusMax
                ? ProbeResult.Pass
                : ProbeResult.Fail(string.Create(CultureInfo.InvariantCulture, $"GET {path} answered {status}, expected {check.ExpectedStatusMin}-{check.ExpectedStatusMax}"));
        }
        catch (HttpRequestException ex)
        {
            return ProbeResult.Fail($"GET {path} failed: {ex.Message}");
        }
    }
}

/// <summary>Opens a TCP connection; healthy when it is accepted.</summary>
internal sealed class TcpHealthProbe : IHealthProbe
{
    public bool CanProbe(HealthCheckKind kind) => kind == HealthCheckKind.Tcp;

    public async ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(check);
        if (ProbeTarget.Resolve(instance, check) is not { } endpoint)
        {
            return ProbeTarget.NoEndpoint(instance);
        }

        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken).ConfigureAwait(false);
            return ProbeResult.Pass;
        }
        catch (SocketException ex)
        {
            return ProbeResult.Fail($"TCP connect to {endpoint} failed: {ex.SocketErrorCode}");
        }
    }
}

/// <summary>Runs the check's command inside the instance through <see cref="IWorkloadCommandRunner"/>; healthy on exit code 0.</summary>
internal sealed class ExecHealthProbe(IWorkloadRuntime? runtime = null) : IHealthProbe
{
    private const int OutputInMessage = 200;

    public bool CanProbe(HealthCheckKind kind) => kind == HealthCheckKind.Exec;

    public async ValueTask<ProbeResult> ProbeAsync(WorkloadInstance instance, HealthCheckSpec check, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(check);
        if (runtime is not IWorkloadCommandRunner runner)
        {
            return ProbeResult.Fail($"exec health checks need a runtime that can run commands in an instance (IWorkloadCommandRunner); the '{runtime?.Name ?? "(none)"}' runtime cannot. Use an HTTP, TCP or gRPC check, or a runtime such as Docker.");
        }

        if (check.Command.Count == 0)
        {
            return ProbeResult.Fail("the exec health check has no command");
        }

        try
        {
            var result = await runner.ExecAsync(instance, check.Command, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                return ProbeResult.Pass;
            }

            var output = result.Output.Length > OutputInMessage ? result.Output[..OutputInMessage] + "…" : result.Output;
            return ProbeResult.Fail(string.Create(CultureInfo.InvariantCulture, $"'{string.Join(' ', check.Command)}' exited with {result.ExitCode}") + (output.Length == 0 ? "" : $": {output.Trim()}"));
        }
        catch (OrchestrationException ex)
        {
            return ProbeResult.Fail($"'{string.Join(' ', check.Command)}' could not run: {ex.Message}");
        }
    }
}
