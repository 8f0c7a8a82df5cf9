using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Bpi.Orchestration.Components;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Processes;

// Watching instances: their exit, and their port until it accepts connections.
public sealed partial class ProcessWorkloadRuntime
{
    private readonly List<Action<WorkloadEvent>> _subscribers = [];

    /// <inheritdoc />
    public IDisposable Subscribe(Action<WorkloadEvent> onEvent)
    {
        ArgumentNullException.ThrowIfNull(onEvent);
        lock (_subscribers)
        {
            _subscribers.Add(onEvent);
        }

        return new Subscription(_subscribers, onEvent);
    }

    /// <summary>Tells subscribers an instance ended by itself (not stopped by the runtime).</summary>
    private void NotifyExited(ProcessInstance instance, int? exitCode)
    {
        Action<WorkloadEvent>[] subscribers;
        lock (_subscribers)
        {
            subscribers = [.. _subscribers];
        }

        var change = new WorkloadEvent(instance.DeploymentId, instance.InstanceId, WorkloadEventKind.Exited, exitCode);
        foreach (var subscriber in subscribers)
        {
            subscriber(change);
        }
    }

    private async Task WatchExitAsync(ProcessInstance instance, Process process, Task pumps)
    {
        try
        {
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            instance.MarkProcessExited();

            // Let the last lines arrive, but do not wait for grandchildren that keep the pipes open.
            await Task.WhenAny(pumps, Task.Delay(OutputDrainTimeout, _time)).ConfigureAwait(false);
            var code = process.ExitCode;
            var starting = instance.State == InstanceState.Starting;
            string message;
            InstanceState state;
            if (instance.IsStopRequested)
            {
                (state, message) = (InstanceState.Exited, string.Create(CultureInfo.InvariantCulture, $"stopped by the runtime (exit code {code})"));
            }
            else
            {
                state = code == 0 ? InstanceState.Exited : InstanceState.Failed;
                message = string.Create(CultureInfo.InvariantCulture, $"exited with code {code}")
                    + (code > 128 && !OperatingSystem.IsWindows() ? string.Create(CultureInfo.InvariantCulture, $" (killed by signal {code - 128})") : "")
                    + (starting ? " before it accepted connections" : "");
            }

            instance.MarkEnded(state, code, message);
            if (!instance.IsStopRequested)
            {
                NotifyExited(instance, code);
            }

            if (state == InstanceState.Failed)
            {
                Log.ProcessFailed(_logger, instance.InstanceId, instance.Record.Pid, message);
            }
            else
            {
                Log.ProcessExited(_logger, instance.InstanceId, instance.Record.Pid, message);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            instance.MarkEnded(InstanceState.Failed, null, "the runtime lost track of the process: " + ex.Message);
            NotifyExited(instance, null);
        }
    }

    private sealed class Subscription(List<Action<WorkloadEvent>> subscribers, Action<WorkloadEvent> onEvent) : IDisposable
    {
        public void Dispose()
        {
            lock (subscribers)
            {
                subscribers.Remove(onEvent);
            }
        }
    }

    private async Task WatchPortAsync(ProcessInstance instance, int port)
    {
        var cancellationToken = _disposed.Token;
        try
        {
            while (instance.State == InstanceState.Starting)
            {
                if (await AcceptsConnectionsAsync(port, cancellationToken).ConfigureAwait(false))
                {
                    if (instance.MarkRunning())
                    {
                        Log.ProcessReady(_logger, instance.InstanceId, port);
                    }

                    return;
                }

                await Task.WhenAny(instance.Exited, Task.Delay(_options.PortCheckInterval, _time, cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException)
        {
            // The runtime was disposed.
        }
    }

    private async Task<bool> AcceptsConnectionsAsync(int port, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
