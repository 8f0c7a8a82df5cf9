using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Processes;

/// <summary>Turns a component's command into a <see cref="ProcessStartInfo"/>: program resolution, <c>dotnet</c> for .dll and .csproj, process group, environment and ports.</summary>
internal static class ProcessLaunch
{
    /// <summary>Environment variable with the instance id.</summary>
    public const string InstanceIdVariable = "BPI_INSTANCE_ID";

    private static readonly Lazy<string?> SetsidPath = new(() => FindOnPath("setsid"));

    /// <summary>The program and arguments to start, before the optional <c>setsid</c> wrapper.</summary>
    public static (string FileName, List<string> Arguments) ResolveCommand(CommandSpec command, ProcessRuntimeOptions options)
    {
        var file = command.FileName;
        if (file.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            return (DotnetHost(options), [Path.GetFullPath(file), .. command.Arguments]);
        }

        if (file.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
        {
            return (DotnetHost(options), ["run", "--project", Path.GetFullPath(file), "--no-launch-profile", "--", .. command.Arguments]);
        }

        return (file, [.. command.Arguments]);
    }

    /// <summary>Finds the program the way the shell would; <see langword="null"/> when it does not exist.</summary>
    public static string? ResolveExecutable(string fileName)
    {
        if (fileName.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) || fileName.Contains(Path.AltDirectorySeparatorChar, StringComparison.Ordinal))
        {
            var full = Path.GetFullPath(fileName);
            return File.Exists(full) ? full : null;
        }

        return FindOnPath(fileName);
    }

    public static ProcessStartInfo Build(
        WorkloadRevision revision,
        string instanceId,
        string executable,
        IReadOnlyList<string> arguments,
        string workingDirectory,
        IReadOnlyList<ProcessPort> ports,
        ProcessRuntimeOptions options,
        out bool processGroup)
    {
        var info = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };

        processGroup = options.UseProcessGroups && !OperatingSystem.IsWindows() && SetsidPath.Value is not null;
        if (processGroup)
        {
            // setsid execs the program in place (same pid) as leader of a new session and process group.
            info.FileName = SetsidPath.Value!;
            info.ArgumentList.Add(executable);
        }
        else
        {
            info.FileName = executable;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var environment = info.Environment;
        if (!options.InheritEnvironment)
        {
            var path = environment.TryGetValue("PATH", out var p) ? p : null;
            environment.Clear();
            if (path is not null)
            {
                environment["PATH"] = path;
            }
        }

        var component = revision.Component;
        foreach (var (key, value) in component.Environment)
        {
            environment[key] = value;
        }

        // Secrets reach the process only here, at start; they are never logged or written to the state file.
        foreach (var (key, value) in component.Secrets)
        {
            environment[key] = value;
        }

        var http = ports.FirstOrDefault(p => p.Protocol == PortProtocol.Tcp);
        if (ports.Count > 0)
        {
            environment["PORT"] = ports[0].Port.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var port in ports)
        {
            environment["PORT_" + VariableName(port.Name)] = port.Port.ToString(CultureInfo.InvariantCulture);
        }

        if (http is not null)
        {
            environment["ASPNETCORE_URLS"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{http.Port}");
            environment.Remove("ASPNETCORE_HTTP_PORTS");
            environment.Remove("ASPNETCORE_HTTPS_PORTS");
        }

        environment[InstanceIdVariable] = instanceId;
        environment["BPI_DEPLOYMENT_ID"] = revision.DeploymentId;
        environment["BPI_COMPONENT_ID"] = component.Id;
        environment["BPI_REVISION"] = revision.Revision.ToString(CultureInfo.InvariantCulture);
        return info;
    }

    /// <summary>Asks the OS for a free loopback port (bind to port 0), skipping ports already handed out.</summary>
    public static int AllocatePort(PortProtocol protocol, ISet<int> inUse)
    {
        for (var attempt = 0; attempt < 32; attempt++)
        {
            using var socket = protocol == PortProtocol.Udp
                ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)
                : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            if (inUse.Add(port))
            {
                return port;
            }
        }

        throw new OrchestrationException(OrchestrationErrorKind.NetworkSetupFailed, "Could not find a free loopback port for a process instance; free some ports (or stop unused instances) and try again.");
    }

    private static string VariableName(string portName)
    {
        var builder = new StringBuilder(portName.Length);
        foreach (var c in portName)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_');
        }

        return builder.ToString();
    }

    private static string DotnetHost(ProcessRuntimeOptions options)
    {
        if (options.DotnetHostPath is { } configured)
        {
            return configured;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } fromSdk && File.Exists(fromSdk))
        {
            return fromSdk;
        }

        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }

        return "dotnet";
    }

    private static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var extensions = OperatingSystem.IsWindows() ? new[] { "", ".exe", ".cmd", ".bat" } : [""];
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var extension in extensions)
            {
                var candidate = Path.Combine(directory, name + extension);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
