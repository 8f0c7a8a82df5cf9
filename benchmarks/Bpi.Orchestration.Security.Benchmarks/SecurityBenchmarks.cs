using BenchmarkDotNet.Attributes;
using Bpi.Orchestration.Security.Assessment;
using Bpi.Orchestration.Security.Authorization;
using Bpi.Orchestration.Security.Telemetry;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Security.Benchmarks;

/// <summary>Targets from issue #7: assessing one spec ≤ 50 µs, one authorization decision ≤ 2 µs.</summary>
[MemoryDiagnoser]
public class SecurityBenchmarks
{
    private const string Policy = """
        allow   role:developer      deploy,update,read,scale dev*,staging   *
        deny    role:developer      destroy                  *              *
        [prod-deploy] allow role:admin deploy,update,rollback production *   when score>=7
        allow   role:admin          read,destroy,scale       *              *
        [four-eyes] allow role:approver approve              *              *   when approver!=requester
        allow   user:ci-bot         deploy                   staging        shop-*
        [freeze] deny *             deploy,update            production     payments
        allow   role:team-lead      pause,resume,abort       *              *   when actor.team=shop
        """;

    private readonly SecurityAssessor _assessor = new(Options.Create(new SecurityOptions()));
    private readonly DeploymentSpec _spec = new()
    {
        Name = "web-service-001",
        AppId = "web-service",
        Environment = "production",
        Components =
        [
            new ComponentSpec
            {
                Id = "web",
                Image = "nginx:latest",
                Replicas = 2,
                Resources = new ComponentResources { CpuCores = 2, MemoryMb = 4096 },
                Ports = [new PortSpec { Name = "http", ContainerPort = 80 }],
                Environment = new Dictionary<string, string> { ["LOG_LEVEL"] = "info", ["DB_HOST"] = "db" },
            },
        ],
        Infrastructure = new InfrastructureConfig { Security = new SecurityConfig { EncryptionLevel = EncryptionLevel.High } },
    };

    private PolicyAuthorizer _authorizer = null!;
    private AuthorizationRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        var options = new AuthorizationOptions { AuditAllowedDecisions = false, EnforceSpecAccessControl = false };
        options.PolicyTexts.Add(Policy);
        _authorizer = new PolicyAuthorizer(options, _assessor, new SecurityTelemetry(null), TimeProvider.System);
        _request = new AuthorizationRequest(new OrchestrationActor { Id = "dana", Roles = ["developer"] }, "deploy", "staging", "shop-web", null);
    }

    [Benchmark]
    public ValueTask<SecurityAssessment> AssessSpec() => _assessor.AssessAsync(_spec);

    [Benchmark]
    public ValueTask<AuthorizationDecision> Authorize() => _authorizer.AuthorizeAsync(_request);
}
