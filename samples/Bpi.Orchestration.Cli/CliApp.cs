using System.CommandLine;
using System.Text.Json;
using Bpi.Orchestration.Audit;
using Bpi.Orchestration.Cli.Commands;
using Bpi.Orchestration.Cli.Output;

namespace Bpi.Orchestration.Cli;

/// <summary>A failure the CLI reports itself, with the exit code it means.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The options every command understands.</summary>
internal sealed class GlobalOptions
{
    public Option<string?> StateDir { get; } = new("--state-dir")
    {
        Description = $"The state directory (deployments, audit log, process table). Default: ${CliEnvironment.StateDirVariable}, else ~/.local/state/bpi-orchestration.",
        Recursive = true,
    };

    public Option<string> Output { get; } = new("--output", "-o")
    {
        Description = "text (tables and progress, for people) or json (stable documents on stdout, for programs).",
        DefaultValueFactory = _ => "text",
        Recursive = true,
    };

    public Option<TimeSpan> LockTimeout { get; } = new("--lock-timeout")
    {
        Description = "How long to wait while another bpi-orchestration process holds the state directory (e.g. 0s, 30s, 5m), then exit 7. Default: 5s (status and list hold it for milliseconds).",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(5),
        CustomParser = Parsing.Duration,
        Recursive = true,
    };

    public Option<string?> Policy { get; } = new("--policy")
    {
        Description = $"An authorization policy file (text, or JSON when it ends in .json) that replaces the built-in policy (the local OS user may do everything). Default: ${Hosting.CliSecurity.PolicyVariable}, else policy.txt or policy.json in the state directory.",
        Recursive = true,
    };

    public Option<string?> Runtime { get; } = new("--runtime")
    {
        Description = $"Where instances run: process (local processes, the default), docker (DockLock-hardened containers on the Docker Engine of DOCKER_HOST) or kubernetes (a cluster, through a kubeconfig). Default: ${Hosting.RuntimeSelection.RuntimeVariable}, else what the state directory recorded (runtime.json), else the config's `runtime:` (docker for --compose), else process.",
        Recursive = true,
    };

    public Option<string?> Kubeconfig { get; } = new("--kubeconfig")
    {
        Description = "With --runtime kubernetes: the kubeconfig file. Default: what the state directory recorded, else $KUBECONFIG or ~/.kube/config.",
        Recursive = true,
    };

    public Option<string?> KubeContext { get; } = new("--kube-context")
    {
        Description = "With --runtime kubernetes: the kubeconfig context. Default: what the state directory recorded, else the file's current context.",
        Recursive = true,
    };

    public Option<string?> KubeGateway { get; } = new("--kube-gateway")
    {
        Description = "With --runtime kubernetes: the Gateway (namespace/name) HTTPRoutes attach to, for exact canary weights. Default: none (weights follow replica counts).",
        Recursive = true,
    };

    public GlobalOptions()
    {
        Output.AcceptOnlyFromAmong("text", "json");
        Runtime.AcceptOnlyFromAmong(Hosting.RuntimeSelection.Process, Hosting.RuntimeSelection.Kubernetes, Hosting.RuntimeSelection.Docker);
    }
}

/// <summary>The <c>bpi-orchestration</c> command line: builds the command tree, runs one command, maps failures to exit codes.</summary>
internal static class CliApp
{
    /// <summary>Runs the CLI with <paramref name="args"/>; the entry point of the process and of in-process tests.</summary>
    public static async Task<int> RunAsync(string[] args, CliEnvironment env, CancellationToken cancellationToken = default)
    {
        var globals = new GlobalOptions();
        var root = BuildRoot(env, globals);
        var parse = root.Parse(args);
        // Read from the tokens: GetValue throws when the value itself is invalid (--output yaml).
        var json = parse.GetResult(globals.Output) is { Tokens: [{ Value: "json" }, ..] };
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                env.WriteError(error.Message);
            }

            var path = new List<string>();
            for (var result = parse.CommandResult; result is not null && result.Command != root; result = result.Parent as System.CommandLine.Parsing.CommandResult)
            {
                path.Insert(0, result.Command.Name);
            }

            env.Error.WriteLine($"Run 'bpi-orchestration {string.Join(' ', [.. path, "--help"])}' for usage.");
            if (json)
            {
                StatusRenderer.WriteJson(env, new ErrorView(string.Join(" ", parse.Errors.Select(e => e.Message)), "UsageError", ExitCodes.UsageError, [.. parse.Errors.Select(e => e.Message)]), CliJson.Context.ErrorView);
            }

            return ExitCodes.UsageError;
        }

        // Every command acts as the local OS user: the audit trail names them and the authorization policy decides on them.
        using var actor = OrchestrationActor.BeginScope(Hosting.CliSecurity.LocalActor(env));
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = env.Output, Error = env.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            env.WriteError("interrupted. A rollout in progress keeps its cursor and resumes with the next command on this state directory.");
            return ExitCodes.Interrupted;
        }
        catch (Exception ex) when (Classify(ex) is { } failure)
        {
            env.WriteError(failure.Message);
            foreach (var problem in failure.Problems.Where(p => !failure.Message.Contains(p, StringComparison.Ordinal)))
            {
                env.Error.WriteLine("  - " + problem);
            }

            if (json)
            {
                StatusRenderer.WriteJson(env, new ErrorView(failure.Message, failure.Kind, failure.ExitCode, failure.Problems), CliJson.Context.ErrorView);
            }

            return failure.ExitCode;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            env.WriteError($"unexpected {ex.GetType().Name}: {ex.Message}");
            env.Error.WriteLine(ex.ToString());
            return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// The one place an exception becomes a message and an exit code. The SDK's messages name its API (what a host
    /// application calls); <see cref="CliWords"/> turns those into the CLI's commands and options.
    /// </summary>
    private static (string Message, string Kind, int ExitCode, IReadOnlyList<string> Problems)? Classify(Exception ex)
    {
        while (ex is AggregateException { InnerExceptions: [var single] } || (ex is System.Reflection.TargetInvocationException && ex.InnerException is not null))
        {
            ex = ex is AggregateException a ? a.InnerExceptions[0] : ex.InnerException!;
        }

        (string Message, string Kind, int ExitCode, IReadOnlyList<string> Problems)? failure = ex switch
        {
            Backup.OrchestrationBackupException b => (b.Message, b.Refusal.ToString(), b.Refusal switch
            {
                Backup.BackupRefusal.NewerFormat => ExitCodes.BackupTooNew,
                Backup.BackupRefusal.NotEmpty => ExitCodes.StateNotEmpty,
                Backup.BackupRefusal.Unsigned or Backup.BackupRefusal.SignatureInvalid => ExitCodes.BackupSignatureRefused,
                _ => ExitCodes.BackupDamaged,
            }, b.Errors),
            OrchestrationException o => (o.Message, o.Kind.ToString(), ExitCodes.For(o.Kind), o.Errors),
            CliException c => (c.Message, c.ExitCode switch { ExitCodes.Conflict => "Conflict", ExitCodes.NotFound => "NotFound", ExitCodes.UsageError => "UsageError", ExitCodes.InvalidConfig => "InvalidConfiguration", ExitCodes.RuntimeUnavailable => "RuntimeUnavailable", _ => "Failed" }, c.ExitCode, []),
            AuditStoreException a => (a.Message, "AuditStore", ExitCodes.Failed, a.Errors),
            // The SDK's one exception for bad options (a runtime's, the router's, the audit store's …): every problem listed.
            Microsoft.Extensions.Options.OptionsValidationException v => ($"The {v.OptionsType.Name} are invalid; fix every item:", "InvalidConfiguration", ExitCodes.InvalidConfig, [.. v.Failures]),
            FileNotFoundException or DirectoryNotFoundException => (ex.Message, "NotFound", ExitCodes.NotFound, []),
            UnauthorizedAccessException => ($"permission denied: {ex.Message}", "Failed", ExitCodes.Failed, []),
            IOException or JsonException => (ex.Message, "Failed", ExitCodes.Failed, []),
            _ => null,
        };
        return failure is { } f ? (CliWords.Apply(f.Message), f.Kind, f.ExitCode, [.. f.Problems.Select(CliWords.Apply)]) : null;
    }

    private static RootCommand BuildRoot(CliEnvironment env, GlobalOptions globals)
    {
        var root = new RootCommand(
            "bpi-orchestration: deploy services and roll out new versions safely (canary, blue-green, rolling, recreate) "
            + "with health checks, metric analysis, automated rollback and a tamper-evident audit trail.\n\n"
            + "Try it: bpi-orchestration demo\n\n"
            + ExitCodes.HelpText);
        root.Add(globals.StateDir);
        root.Add(globals.Output);
        root.Add(globals.LockTimeout);
        root.Add(globals.Policy);
        root.Add(globals.Runtime);
        root.Add(globals.Kubeconfig);
        root.Add(globals.KubeContext);
        root.Add(globals.KubeGateway);
        var context = new CommandContextFactory(env, globals);

        // One file per command group under Commands/: a new group is one more file with a Create method and one more line here.
        foreach (var command in DeployCommands.Create(context)
                     .Concat(ReadCommands.Create(context))
                     .Concat(ControlCommands.Create(context))
                     .Concat(AuditCommands.Create(context))
                     .Concat(BackupCommands.Create(context))
                     .Concat(SecurityCommands.Create(context))
                     .Concat(StartCommand.Create(context))
                     .Concat(DemoCommand.Create(context))
                     .Concat(SchemaCommand.Create(context)))
        {
            root.Add(command);
        }

        return root;
    }
}
