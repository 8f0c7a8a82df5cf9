using Bpi.Orchestration.Auditing;
using Bpi.Orchestration.Security;
using Bpi.Orchestration.Security.Authorization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Bpi.Orchestration.Cli.Hosting;

/// <summary>
/// Who the CLI acts as and what it may do. The Security package denies whatever no rule allows, so the CLI always
/// brings a policy: a policy file (<c>--policy</c>, else <c>$BPI_ORCHESTRATION_POLICY</c>, else <c>policy.txt</c> or
/// <c>policy.json</c> in the state directory) replaces the built-in one, which allows the local OS user every verb.
/// The security gate keeps the package's built-in environment policies (see <see cref="ConfigureOptions"/>).
/// </summary>
internal sealed class CliSecurity
{
    /// <summary>The environment variable naming a policy file when <c>--policy</c> is not given.</summary>
    public const string PolicyVariable = "BPI_ORCHESTRATION_POLICY";

    /// <summary>The environment variable naming the file of the key that seals secrets at rest (default: <c>secrets-key.txt</c> in the state directory).</summary>
    public const string SecretsKeyVariable = "BPI_ORCHESTRATION_SECRETS_KEY_FILE";

    /// <summary>The name of the built-in rule that allows the local user everything.</summary>
    public const string LocalUserRule = "local-user";

    private CliSecurity(OrchestrationActor actor, string source, string? text, string? json, string? secretsKeyFile)
    {
        SecretsKeyFile = secretsKeyFile;
        Actor = actor;
        Source = source;
        _text = text;
        _json = json;
    }

    private readonly string? _text;
    private readonly string? _json;

    /// <summary>The identity every command acts as: the OS user.</summary>
    public OrchestrationActor Actor { get; }

    /// <summary>The key file named by <c>$BPI_ORCHESTRATION_SECRETS_KEY_FILE</c>, or <see langword="null"/> for the state directory's own.</summary>
    public string? SecretsKeyFile { get; }

    /// <summary>Where the policy comes from: <c>built-in</c> or the policy file's path.</summary>
    public string Source { get; }

    /// <summary>The local OS user: <c>$USER</c>, else <c>$USERNAME</c>, else the process's user name.</summary>
    public static OrchestrationActor LocalActor(CliEnvironment env)
    {
        var id = env.GetVariable("USER") is { Length: > 0 } user ? user
            : env.GetVariable("USERNAME") is { Length: > 0 } name ? name
            : Environment.UserName is { Length: > 0 } os ? os : "cli";
        return new OrchestrationActor { Id = id };
    }

    /// <summary>The built-in policy only (the demo, which runs in a state directory of its own).</summary>
    public static CliSecurity BuiltIn(CliEnvironment env) => new(LocalActor(env), "built-in", null, null, KeyFile(env));

    /// <summary>
    /// Finds the policy: <paramref name="policyOption"/>, else <c>$BPI_ORCHESTRATION_POLICY</c>, else <c>policy.txt</c>
    /// / <c>policy.json</c> in the state directory, else the built-in one. A file is parsed here so its problems are
    /// reported with its path (exit 3); a named file that does not exist exits 6.
    /// </summary>
    public static CliSecurity Resolve(string? policyOption, CliEnvironment env, StateDirectory state)
    {
        var actor = LocalActor(env);
        var path = policyOption is { Length: > 0 } ? policyOption : env.GetVariable(PolicyVariable) is { Length: > 0 } variable ? variable : null;
        if (path is null)
        {
            path = new[] { "policy.txt", "policy.json" }.Select(n => System.IO.Path.Combine(state.Path, n)).FirstOrDefault(File.Exists);
            if (path is null)
            {
                return new CliSecurity(actor, "built-in", null, null, KeyFile(env));
            }
        }

        // A regular file of at most 1 MiB: missing exits 6, a directory, FIFO or device exits 3, each naming the path.
        var content = InputFiles.ReadText(path, InputFiles.MaxPolicyBytes, "authorization policy file");
        var json = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        try
        {
            _ = json ? AuthorizationPolicy.ParseJson(content) : AuthorizationPolicy.ParseText(content, System.IO.Path.GetFileName(path));
        }
        catch (OrchestrationException ex)
        {
            throw OrchestrationException.InvalidConfiguration($"The authorization policy '{path}'", ex.Errors);
        }

        return new CliSecurity(actor, System.IO.Path.GetFullPath(path), json ? null : content, json ? content : null, KeyFile(env));
    }

    private static string? KeyFile(CliEnvironment env) => env.GetVariable(SecretsKeyVariable) is { Length: > 0 } file ? System.IO.Path.GetFullPath(file) : null;

    /// <summary>
    /// The gate's settings: the Security package's built-in environment policies unchanged (every environment: critical
    /// findings block; <c>production</c>: minimum score 7.0, high findings block, encryption High, images pinned by
    /// digest). No periodic re-assessment: a CLI command is short-lived, <c>security scan</c> assesses on demand.
    /// </summary>
    public static void ConfigureOptions(SecurityOptions options) => options.ReassessmentInterval = Timeout.InfiniteTimeSpan;

    /// <summary>
    /// Adds the Security package (gate, authorizer, assessor, monitor, remediator) with this policy. Every denial is
    /// audited by the orchestrator; allowed decisions are audited here for every verb but <c>read</c>: the CLI reads a
    /// deployment's status after every rollout event (progress, the live view for other terminals), and an entry for
    /// each of those reads would bury the operations in the trail.
    /// </summary>
    public IOrchestrationBuilder AddTo(IOrchestrationBuilder builder)
    {
        builder.AddSecurity(ConfigureOptions).ConfigureAuthorization(o =>
        {
            o.AuditAllowedDecisions = false;
            if (_text is not null)
            {
                o.PolicyTexts.Add(_text);
            }
            else if (_json is not null)
            {
                o.PolicyJson.Add(_json);
            }
            else
            {
                o.Rules.Add(new AuthorizationRule { Name = LocalUserRule, Subjects = ["user:" + Actor.Id] });
            }
        });
        var inner = builder.Services.Last(d => d.ServiceType == typeof(IOrchestrationAuthorizer));
        builder.Services.Replace(ServiceDescriptor.Singleton<IOrchestrationAuthorizer>(sp => new AuditingAuthorizer(
            (IOrchestrationAuthorizer)inner.ImplementationFactory!(sp),
            sp.GetService<IAuditSink>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System)));
        return builder;
    }

    /// <summary>Audits the allowed decisions of the policy authorizer, except reads, in the Security package's shape.</summary>
    private sealed class AuditingAuthorizer(IOrchestrationAuthorizer inner, IAuditSink? audit, TimeProvider time) : IOrchestrationAuthorizer
    {
        public async ValueTask<AuthorizationDecision> AuthorizeAsync(AuthorizationRequest request, CancellationToken cancellationToken = default)
        {
            var decision = await inner.AuthorizeAsync(request, cancellationToken).ConfigureAwait(false);
            if (decision.Allowed && audit is not null && !string.Equals(request.Verb, OrchestrationVerbs.Read, StringComparison.Ordinal))
            {
                await audit.AppendAsync(
                    new AuditEvent(time.GetUtcNow(), request.Actor.Id, "authorization." + request.Verb, request.DeploymentId ?? request.Spec?.Name ?? "(orchestrator)", "allowed", new Dictionary<string, string?>(StringComparer.Ordinal)
                    {
                        ["rule"] = decision.Rule,
                        ["reason"] = decision.Reason,
                    }),
                    cancellationToken).ConfigureAwait(false);
            }

            return decision;
        }
    }
}
