using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Traffic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bpi.Orchestration.Components.Tests.Nginx;

public sealed class CueNginxOptionsTests
{
    [Fact]
    public void Invalid_options_are_rejected_with_every_problem_listed()
    {
        var options = new CueNginxOptions
        {
            NginxPath = " ",
            StateDirectory = "/tmp/" + new string('x', 120),
            ListenAddress = "localhost",
            WorkerProcesses = -1,
            WorkerConnections = 1,
            CommandTimeout = TimeSpan.Zero,
            DefaultService = new NginxServiceOptions
            {
                MaxFails = -1,
                FailTimeout = TimeSpan.FromMilliseconds(1500),
                GzipTypes = ["not a type"],
                ExtraLocationDirectives = ["no semicolon"],
                Tls = new NginxTlsOptions { CertificatePath = "", KeyPath = "/k\"ey", Protocols = ["SSLv3"] },
            },
        };
        options.Services["shop/web"] = new NginxServiceOptions
        {
            HttpCage = new HttpCageOptions
            {
                RequestsPerSecond = 0,
                Burst = -1,
                ConnectionsPerClient = 0,
                AllowedMethods = ["get"],
                ClientHeaderTimeout = TimeSpan.Zero,
                RejectStatusCode = 200,
                ContentSecurityPolicy = "default-src $evil",
                HstsMaxAge = TimeSpan.FromSeconds(-1),
            },
        };

        var errors = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => new CueNginxRouter(Options.Create(options))), typeof(CueNginxOptions));

        Assert.Equal(21, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("CueNginxOptions.Services[shop/web].HttpCage.RequestsPerSecond:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("CueNginxOptions.DefaultService.FailTimeout:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("CueNginxOptions.StateDirectory:", StringComparison.Ordinal) && e.Contains("control socket", StringComparison.Ordinal));
    }

    [Fact]
    public void The_defaults_are_valid()
        => Assert.True(new CueNginxOptionsValidator().Validate(null, new CueNginxOptions()).Succeeded);

    [Theory]
    [InlineData(HttpCageSecurityLevel.Low, 100, 200, 100, 100L << 20, 7)]
    [InlineData(HttpCageSecurityLevel.Medium, 50, 100, 50, 10L << 20, 7)]
    [InlineData(HttpCageSecurityLevel.High, 20, 40, 20, 1L << 20, 6)]
    [InlineData(HttpCageSecurityLevel.Maximum, 10, 20, 10, 256L << 10, 3)]
    public void Each_security_level_maps_to_a_preset_that_tightens_with_the_level(HttpCageSecurityLevel level, int rate, int burst, int connections, long body, int methods)
    {
        var policy = new HttpCageOptions { SecurityLevel = level }.Resolve();

        Assert.Equal((rate, burst, connections, body, methods), (policy.RequestsPerSecond, policy.Burst, policy.ConnectionsPerClient, policy.MaxBodySize, policy.AllowedMethods.Count));
        Assert.True(policy.RateLimiting && policy.DdosProtection);
        Assert.Equal(429, policy.RejectStatusCode);
    }

    [Fact]
    public void A_host_overrides_single_values_of_a_preset_and_keeps_the_rest()
    {
        var policy = new HttpCageOptions
        {
            SecurityLevel = HttpCageSecurityLevel.High,
            RequestsPerSecond = 200,
            AllowedMethods = ["GET"],
            ContentSecurityPolicy = "",
            RejectStatusCode = 503,
            DdosProtection = false,
        }.Resolve();

        Assert.Equal(200, policy.RequestsPerSecond);
        Assert.Equal(400, policy.Burst); // follows an overridden rate unless set too
        Assert.Equal(["GET"], policy.AllowedMethods);
        Assert.Equal("", policy.ContentSecurityPolicy);
        Assert.Equal(503, policy.RejectStatusCode);
        Assert.False(policy.DdosProtection);
        Assert.Equal("DENY", policy.FrameOptions); // the preset's
        Assert.Equal(20, policy.ConnectionsPerClient);
    }

    [Fact]
    public async Task AddCueNginx_registers_the_router_with_a_state_directory_per_orchestrator_and_validates_the_options()
    {
        var services = new ServiceCollection();
        services.AddOrchestration(o => o.VmId = "deployer-7").AddInProcessRouter().AddCueNginx(o => o.WorkerProcesses = 1);
        await using var provider = services.BuildServiceProvider();

        var router = Assert.IsType<CueNginxRouter>(provider.GetRequiredService<ITrafficRouter>());
        Assert.Same(router, provider.GetRequiredService<CueNginxRouter>());
        Assert.Equal("nginx", router.Name);
        Assert.Equal(Path.Combine(Path.GetTempPath(), "bpi-orchestration", "deployer-7", "nginx"), router.StateDirectory);

        var invalid = new ServiceCollection();
        invalid.AddOrchestration().AddCueNginx(o => o.ListenAddress = "nowhere");
        await using var invalidProvider = invalid.BuildServiceProvider();
        var problems = OptionsProblems.Of(Assert.ThrowsAny<Exception>(() => invalidProvider.GetRequiredService<ITrafficRouter>()), typeof(CueNginxOptions));
        Assert.Contains(problems, e => e.StartsWith("CueNginxOptions.ListenAddress: 'nowhere' is not an IP address; ", StringComparison.Ordinal));
    }
}
