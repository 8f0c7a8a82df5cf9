using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Bpi.Orchestration.Cli.Config;
using Bpi.Orchestration.Cli.Hosting;
using Bpi.Orchestration.Cli.Output;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Checks;
using Bpi.Orchestration.Security.Compliance;
using Bpi.Orchestration.Security.Gate;
using Bpi.Orchestration.Security.Remediation;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Cli.Commands;

/// <summary>
/// <c>security scan</c>, <c>security compliance-report</c> and <c>security remediate</c>: the Security package's
/// assessment, compliance evidence and remediation over a config file or a stored deployment. A config file is judged
/// without the orchestrator (no state directory lock); a deployment is read through the orchestrator, as the OS user.
/// </summary>
internal static class SecurityCommands
{
    private static readonly string[] Formats = ["json", "markdown", "html"];

    public static IEnumerable<Command> Create(CommandContextFactory factory)
    {
        var security = new Command("security", "Assess deployments against the security checks (CIS Docker Benchmark, Pod Security Standards), report compliance evidence, and harden specs.");
        security.Add(Scan(factory));
        security.Add(ComplianceReport(factory));
        security.Add(Remediate(factory));
        yield return security;
    }

    /// <summary><c>--config</c> or <c>--deployment-id</c>, exactly one.</summary>
    private sealed class TargetOptions
    {
        public Option<string?> Config { get; } = new("--config", "-c") { Description = "A deployment config file (YAML, or JSON when it ends in .json), as for deploy." };

        public Option<string?> DeploymentId { get; } = new("--deployment-id", "-d") { Description = "A stored deployment (see list-deployments): its current spec is assessed." };

        public void AddTo(Command command)
        {
            Config.Validators.Add(Parsing.NonEmptyPath);
            DeploymentId.Validators.Add(Parsing.DeploymentId);
            command.Add(Config);
            command.Add(DeploymentId);
            command.Validators.Add(result =>
            {
                var config = result.GetResult(Config) is not null;
                var id = result.GetResult(DeploymentId) is not null;
                if (config == id)
                {
                    result.AddError("Give exactly one of --config <file> or --deployment-id <id>.");
                }
            });
        }
    }

    /// <summary>What was assessed and the services that judged it.</summary>
    private sealed record Target(DeploymentSpec Spec, SecurityGateDecision Decision, ComplianceCatalog Catalog, SecurityAssessor Assessor, string? ConfigPath);

    /// <summary>
    /// Assesses the target. A config file: a standalone assessor with the same options as the orchestrator's (no lock).
    /// A deployment: the orchestrator's monitor (its running containers when an inspector is registered, else its spec),
    /// then the gate's judgement under the environment's policy.
    /// </summary>
    private static async Task<Target> AssessAsync(CommandContext ctx, TargetOptions options, Func<OrchestratorHost> host, CancellationToken ct)
    {
        if (ctx.Get(options.Config) is { } path)
        {
            var spec = await DeploymentConfigLoader.LoadFileAsync(path, new ConfigOverrides(), ct).ConfigureAwait(false);
            var securityOptions = new SecurityOptions();
            CliSecurity.ConfigureOptions(securityOptions);
            var assessor = new SecurityAssessor(Options.Create(securityOptions), ctx.Env.Time);
            var assessment = await assessor.AssessAsync(spec, ct).ConfigureAwait(false);
            return new Target(spec, SecurityGate.Judge(assessment, securityOptions.GetPolicy(spec.Environment)), securityOptions.BuildComplianceCatalog(), assessor, path);
        }

        var h = host();
        var id = ctx.Get(options.DeploymentId)!;
        var current = await h.CurrentSpecAsync(id, ct).ConfigureAwait(false);
        var stored = await h.Monitor.AssessDeploymentAsync(id, ct).ConfigureAwait(false);
        return new Target(current, SecurityGate.Judge(stored, h.Assessor.Options.GetPolicy(current.Environment)), h.Compliance, h.Assessor, null);
    }

    private static Command Scan(CommandContextFactory factory)
    {
        var target = new TargetOptions();
        var command = new Command(
            "scan",
            "Assess a config file or a deployment: every finding (id, severity, title, remediation) and the 0-10 score. "
            + "Exit 0 when the security gate of the spec's environment would let it deploy, 4 when it would refuse it.");
        target.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "security scan");
            OrchestratorHost? host = null;
            try
            {
                if (ctx.Get(target.DeploymentId) is not null)
                {
                    host = await ctx.OpenHostAsync(ct).ConfigureAwait(false);
                }

                var assessed = await AssessAsync(ctx, target, () => host!, ct).ConfigureAwait(false);
                var view = SecurityScanView.From(assessed.Decision);
                if (ctx.Json)
                {
                    StatusRenderer.WriteJson(ctx.Env, view, CliJson.Context.SecurityScanView);
                }
                else
                {
                    WriteScan(ctx.Env, view);
                }

                return view.Gate.Passed ? ExitCodes.Success : ExitCodes.SecurityRefused;
            }
            finally
            {
                if (host is not null)
                {
                    await host.DisposeAsync().ConfigureAwait(false);
                }
            }
        });
        return command;
    }

    private static Command ComplianceReport(CommandContextFactory factory)
    {
        var target = new TargetOptions();
        var framework = new Option<string>("--framework") { Description = "The framework's id: " + string.Join(", ", ComplianceCatalog.BuiltIn.Frameworks.Select(f => f.Id)) + ".", Required = true };
        var format = new Option<string?>("--format") { Description = "json, markdown or html. Default: json with --output json, else markdown." };
        format.AcceptOnlyFromAmong(Formats);
        var file = new Option<string?>("--file", "-f") { Description = "Write the report to this file (stdout gets a summary) instead of to stdout. (The issue's `--output` is --file here: --output is the global text/json switch.)" };
        var command = new Command(
            "compliance-report",
            "Compliance evidence for one framework: each control with the checks behind it, evidence passed / failed / not assessed, and the findings. "
            + "Evidence for a control, never a certification. Exit 0 when the report was written.")
        {
            framework, format, file,
        };
        target.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "security compliance-report");
            var formatName = ctx.Get(format) ?? (ctx.Json ? "json" : "markdown");
            var path = ctx.Get(file);
            if (ctx.Json && path is null && formatName != "json")
            {
                throw new CliException(ExitCodes.UsageError, $"with --output json stdout holds one JSON document: write the {formatName} report with --file <path>, or use --format json.");
            }

            OrchestratorHost? host = null;
            try
            {
                if (ctx.Get(target.DeploymentId) is not null)
                {
                    host = await ctx.OpenHostAsync(ct).ConfigureAwait(false);
                }

                var catalog = host?.Compliance ?? BuiltInCatalog();
                var chosen = catalog.Frameworks.FirstOrDefault(f => string.Equals(f.Id, ctx.Get(framework), StringComparison.OrdinalIgnoreCase))
                    ?? throw new CliException(ExitCodes.UsageError, $"no compliance framework has the id '{ctx.Get(framework)}'; known: {string.Join(", ", catalog.Frameworks.Select(f => f.Id))}.");
                var assessed = await AssessAsync(ctx, target, () => host!, ct).ConfigureAwait(false);
                var report = ComplianceReporter.Create(assessed.Decision.Assessment, chosen, assessed.Catalog);
                var text = formatName switch
                {
                    "json" => ComplianceReporter.ToJson(report),
                    "html" => ComplianceReporter.ToHtml(report),
                    _ => ComplianceReporter.ToMarkdown(report),
                };
                if (path is null)
                {
                    ctx.Env.Output.WriteLine(text);
                    ctx.Env.Output.Flush();
                    return ExitCodes.Success;
                }

                var directory = Path.GetDirectoryName(Path.GetFullPath(path));
                if (directory is not null)
                {
                    Directory.CreateDirectory(directory);
                }

                await File.WriteAllTextAsync(path, text, ct).ConfigureAwait(false);
                var summary = new ComplianceReportSummaryView(chosen.Id, formatName, Path.GetFullPath(path), report.Target, report.Environment, SecurityScanView.Round(report.Score), report.EvidencePassedCount, report.EvidenceFailedCount, report.NotAssessedCount);
                if (ctx.Json)
                {
                    StatusRenderer.WriteJson(ctx.Env, summary, CliJson.Context.ComplianceReportSummaryView);
                }
                else
                {
                    ctx.Env.Console.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"{chosen.Title} ({chosen.Version}) evidence for {report.Target} ({report.Environment}): {summary.EvidencePassed} control(s) passed, {summary.EvidenceFailed} failed, {summary.NotAssessed} not assessed; written to {summary.File} ({formatName})."));
                }

                return ExitCodes.Success;
            }
            finally
            {
                if (host is not null)
                {
                    await host.DisposeAsync().ConfigureAwait(false);
                }
            }
        });
        return command;
    }

    private static Command Remediate(CommandContextFactory factory)
    {
        var target = new TargetOptions();
        var accept = new Option<string[]>("--accept") { Description = "Apply these proposed (risky) remediations too, by check id (e.g. BPI-SEC-009 for a non-root user); repeats, or comma-separated.", AllowMultipleArgumentsPerToken = true };
        var digests = new Option<string[]>("--image-digest") { Description = "The digest of an image as the spec names it, IMAGE=sha256:<64 hex> (e.g. from `docker buildx imagetools inspect`), so pinning it can be proposed and, with --accept BPI-SEC-025,BPI-SEC-026, applied; repeats." };
        var file = new Option<string?>("--file", "-f") { Description = "Write the hardened config here (YAML, or JSON when it ends in .json): the --config file with the fixes patched in. Needs --config." };
        var apply = new Option<bool>("--apply") { Description = "Roll the hardened spec out to the deployment (--deployment-id) as an update with its own security.remediation audit entry, and follow it like update does." };
        var rollout = new RolloutOptions();
        var command = new Command(
            "remediate",
            "Harden a spec: safe fixes applied (no-new-privileges, drop capabilities, read-only root, limits, restart policy), risky ones proposed with the reason. "
            + "Shows the changes and the score before and after; changes nothing unless --file or --apply is given. "
            + "With --apply it exits like update (0 Running, 5 rolled back, 1 failed, 4 refused by the security gate); 0 when there is nothing to apply.")
        {
            accept, digests, file, apply,
        };
        target.AddTo(command);
        rollout.AddTo(command);
        command.Validators.Add(result =>
        {
            if (result.GetResult(file) is not null && result.GetResult(target.Config) is null)
            {
                result.AddError("--file needs --config: the hardened config is that file with the fixes patched in.");
            }

            foreach (var id in (result.GetResult(accept)?.Tokens ?? []).SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            {
                if (!SecurityCheckCatalog.Contains(id.ToUpperInvariant()))
                {
                    result.AddError($"--accept: '{id}' is not a check id; they run from BPI-SEC-001 to BPI-SEC-{SecurityCheckCatalog.All.Count:000} (see security scan).");
                }
            }

            foreach (var token in result.GetResult(digests)?.Tokens ?? [])
            {
                if (!TryParseDigest(token.Value, out _, out _))
                {
                    result.AddError($"--image-digest: '{token.Value}' is not IMAGE=sha256:<64 hex digits>.");
                }
            }

            if (result.GetResult(apply) is not null && result.GetResult(target.DeploymentId) is null)
            {
                result.AddError("--apply needs --deployment-id: it rolls the hardened spec out to that deployment.");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            var ctx = factory.For(parse, "security remediate");
            OrchestratorHost? host = null;
            try
            {
                if (ctx.Get(target.DeploymentId) is not null)
                {
                    host = await ctx.OpenHostAsync(ct).ConfigureAwait(false);
                }

                var assessed = await AssessAsync(ctx, target, () => host!, ct).ConfigureAwait(false);
                var options = new RemediationOptions();
                foreach (var id in (ctx.Get(accept) ?? []).SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
                {
                    options.AcceptedProposals.Add(id.ToUpperInvariant());
                }

                foreach (var pair in ctx.Get(digests) ?? [])
                {
                    if (TryParseDigest(pair, out var image, out var digest))
                    {
                        options.ImageDigests[image] = digest;
                    }
                }

                var remediator = host?.Remediator ?? new SecurityRemediator(assessed.Assessor);
                var result = await remediator.RemediateAsync(assessed.Spec, options, ct).ConfigureAwait(false);
                var policy = assessed.Assessor.Options.GetPolicy(assessed.Spec.Environment);
                var before = SecurityScanView.From(SecurityGate.Judge(result.Before, policy));
                var after = SecurityScanView.From(SecurityGate.Judge(result.After, policy));
                string? written = null;
                if (ctx.Get(file) is { } path)
                {
                    await ConfigPatcher.WriteAsync(assessed.ConfigPath!, result.Original, result.Hardened, path, ct).ConfigureAwait(false);
                    written = Path.GetFullPath(path);
                }

                var view = new RemediationView
                {
                    Target = assessed.Spec.Name,
                    DeploymentId = ctx.Get(target.DeploymentId),
                    Environment = assessed.Spec.Environment,
                    Changed = result.Changed,
                    Before = before,
                    After = after,
                    Actions = [.. result.Actions.Select(RemediationActionView.From)],
                    File = written,
                };
                if (!ctx.Json)
                {
                    WriteRemediation(ctx.Env, view, result.Hardened, ctx.Get(apply));
                }

                if (ctx.Get(apply) && !result.Changed)
                {
                    // Idempotent for CI jobs: a deployment that is already hardened needs no new revision.
                    if (!ctx.Json)
                    {
                        ctx.Env.Console.WriteLine("Nothing to apply: no safe or accepted remediation changes the deployment's spec.");
                    }
                }

                if (!ctx.Get(apply) || !result.Changed)
                {
                    if (ctx.Json)
                    {
                        StatusRenderer.WriteJson(ctx.Env, view, CliJson.Context.RemediationView);
                    }

                    return ExitCodes.Success;
                }

                var deploymentId = ctx.Get(target.DeploymentId)!;
                int? revision = null;
                var code = await RolloutCommandSupport.RunAsync(ctx, host!, rollout, RolloutTarget.Existing(deploymentId), async () =>
                {
                    revision = await SecurityRemediator.ApplyAsync(host!.Vm, deploymentId, result, host.AuditSink, ctx.Env.Time, ct).ConfigureAwait(false);
                    if (!ctx.Json)
                    {
                        ctx.Env.Console.WriteLine($"Rolling out the hardened spec of {deploymentId} as revision {revision}.");
                    }

                    return deploymentId;
                }, ct, print: deployment =>
                {
                    if (ctx.Json)
                    {
                        StatusRenderer.WriteJson(ctx.Env, view with { AppliedRevision = revision, Deployment = deployment }, CliJson.Context.RemediationView);
                    }
                    else
                    {
                        RolloutCommandSupport.Print(ctx, deployment);
                    }
                }).ConfigureAwait(false);
                return code;
            }
            finally
            {
                if (host is not null)
                {
                    await host.DisposeAsync().ConfigureAwait(false);
                }
            }
        });
        return command;
    }

    /// <summary><c>IMAGE=sha256:&lt;64 hex&gt;</c>; the image is everything before the last <c>=</c>.</summary>
    private static bool TryParseDigest(string text, out string image, out string digest)
    {
        var eq = text.LastIndexOf('=');
        image = eq > 0 ? text[..eq].Trim() : "";
        digest = eq > 0 ? text[(eq + 1)..].Trim().ToLowerInvariant() : "";
        return image.Length > 0 && digest.StartsWith("sha256:", StringComparison.Ordinal) && digest.Length == 71 && digest[7..].All(char.IsAsciiHexDigit);
    }

    private static ComplianceCatalog BuiltInCatalog()
    {
        var options = new SecurityOptions();
        CliSecurity.ConfigureOptions(options);
        return options.BuildComplianceCatalog();
    }

    private static void WriteScan(CliEnvironment env, SecurityScanView view)
    {
        env.Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{view.Target}{(view.DeploymentId is null ? "" : $" ({view.DeploymentId})")}, environment {view.Environment}, assessed from its {view.Source.ToLowerInvariant()}: "
            + $"{view.Findings.Count} finding(s); checks passed {view.Checks.Passed}, failed {view.Checks.Failed}, not applicable {view.Checks.NotApplicable}."));
        if (view.Findings.Count > 0)
        {
            WriteFindings(env, view.Findings);
        }

        env.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"Score [bold]{SecurityScanView.Display(view.Score)}[/] / 10 (grade {view.Grade})."));
        if (view.Gate.Passed)
        {
            env.Console.MarkupLine($"Security gate of environment '{TerminalText.Markup(view.Environment)}': [green]passed[/].");
        }
        else
        {
            env.Console.MarkupLine($"Security gate of environment '{TerminalText.Markup(view.Environment)}': [red]refused[/] (exit 4):");
            foreach (var reason in view.Gate.Reasons)
            {
                env.Console.WriteLine("  - " + reason);
            }
        }
    }

    private static void WriteFindings(CliEnvironment env, IReadOnlyList<SecurityFindingView> findings)
    {
        var table = new Table().Border(env.Interactive ? TableBorder.Rounded : TableBorder.Simple);
        table.AddColumns("ID", "SEVERITY", "TITLE", "WHERE", "REMEDIATION");
        foreach (var f in findings)
        {
            table.AddRow(TerminalText.Markup(f.Id), SeverityMarkup(f.Severity, env), TerminalText.Markup(f.Title), TerminalText.Markup(string.Join(", ", f.Subjects)), TerminalText.Markup(f.Remediation));
        }

        env.Console.Write(table);
    }

    private static string SeverityMarkup(string severity, CliEnvironment env)
    {
        if (!env.Interactive)
        {
            return severity;
        }

        return severity switch
        {
            "Critical" => "[bold red]Critical[/]",
            "High" => "[red]High[/]",
            "Medium" => "[yellow]Medium[/]",
            _ => TerminalText.Markup(severity),
        };
    }

    private static void WriteRemediation(CliEnvironment env, RemediationView view, DeploymentSpec hardened, bool applying)
    {
        if (view.Actions.Count == 0)
        {
            env.Console.WriteLine($"{view.Target} ({view.Environment}): no findings to remediate.");
        }
        else
        {
            var table = new Table().Border(env.Interactive ? TableBorder.Rounded : TableBorder.Simple);
            table.AddColumns("CHECK", "WHERE", "ACTION", "CHANGE", "WHY NOT APPLIED");
            foreach (var a in view.Actions)
            {
                table.AddRow(TerminalText.Markup(a.CheckId), TerminalText.Markup(a.Subject), TerminalText.Markup(a.Kind.ToLowerInvariant()), TerminalText.Markup(a.Description), TerminalText.Markup(a.Risk ?? "-"));
            }

            env.Console.Write(table);
        }

        if (view.Changed)
        {
            env.Console.WriteLine("Hardened spec (runtime settings per component):");
            foreach (var component in hardened.Components)
            {
                var settings = component.RuntimeSettings.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}");
                env.Console.WriteLine($"  {component.Id}: image {component.Image ?? "(a local process)"}; {string.Join(", ", settings).DefaultIfEmpty("runtime defaults")}");
            }
        }

        env.Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"Score {SecurityScanView.Display(view.Before.Score)} ({view.Before.Grade}) -> {SecurityScanView.Display(view.After.Score)} ({view.After.Grade}); "
            + $"security gate of '{view.Environment}': {(view.Before.Gate.Passed ? "passed" : "refused")} -> {(view.After.Gate.Passed ? "passed" : "refused")}."));
        if (view.File is not null)
        {
            env.Console.WriteLine($"Hardened config written to {view.File}.");
        }
        else if (view.Changed && view.DeploymentId is null)
        {
            env.Console.WriteLine("Nothing written: give --file <path> to write the hardened config.");
        }
        else if (view.Changed && !applying)
        {
            env.Console.WriteLine($"Nothing changed: give --apply to roll the hardened spec out to {view.DeploymentId}.");
        }
    }

    private static string DefaultIfEmpty(this string text, string fallback) => text.Length == 0 ? fallback : text;
}
