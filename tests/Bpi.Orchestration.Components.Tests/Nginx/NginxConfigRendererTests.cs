using System.Numerics;
using Bpi.Orchestration.Nginx;
using Bpi.Orchestration.Runtime;
using Bpi.Orchestration.Traffic;
using FsCheck;
using FsCheck.Fluent;

namespace Bpi.Orchestration.Components.Tests.Nginx;

/// <summary>The rendered config and the weight split, without nginx.</summary>
public sealed class NginxConfigRendererTests
{
    private const string Prefix = "/tmp/bpi-ngx-test";
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static ServiceEndpoint Endpoint(int port) => new("127.0.0.1", port);

    private static TrafficRoute Route(params (int Revision, int Weight, int[] Ports)[] backends)
        => new("shop/web", [.. backends.Select(b => new TrafficBackend(b.Revision, b.Weight, [.. b.Ports.Select(Endpoint)]))]);

    private static string Render(TrafficRoute route, NginxServiceOptions? service = null, CueNginxOptions? options = null)
        => NginxConfigRenderer.Render(options ?? new CueNginxOptions(), Prefix, 7, [new NginxServiceConfig(route, 18080, service ?? new NginxServiceOptions())]);

    private static List<string> Lines(string config) => [.. config.Split('\n').Select(l => l.Trim())];

    [Fact]
    public void Weights_10_and_90_render_as_nginx_weights_1_and_9()
    {
        var servers = NginxWeights.Split(Route((1, 10, [9001]), (2, 90, [9002])).Backends);

        Assert.Equal([1L, 9L], servers.Select(s => s.Weight));
        var config = Lines(Render(Route((1, 10, [9001]), (2, 90, [9002]))));
        Assert.Contains("server 127.0.0.1:9001 weight=1 max_fails=1 fail_timeout=10s; # revision 1", config);
        Assert.Contains("server 127.0.0.1:9002 weight=9 max_fails=1 fail_timeout=10s; # revision 2", config);
    }

    [Fact]
    public void A_revision_with_weight_0_is_marked_down_because_nginx_has_no_weight_0()
    {
        var config = Lines(Render(Route((1, 0, [9001, 9003]), (2, 100, [9002]))));

        Assert.Contains("server 127.0.0.1:9001 down; # revision 1", config);
        Assert.Contains("server 127.0.0.1:9003 down; # revision 1", config);
        Assert.Contains("server 127.0.0.1:9002 weight=1 max_fails=1 fail_timeout=10s; # revision 2", config);
    }

    [Fact]
    public void A_weight_split_over_uneven_endpoint_counts_stays_exact()
    {
        // 10% over 3 endpoints and 90% over 2: 2 × 3 = 6 against 27 × 2 = 54, exactly 10%.
        var servers = NginxWeights.Split(Route((1, 10, [1, 2, 3]), (2, 90, [4, 5])).Backends);

        Assert.Equal([2L, 2, 2, 27, 27], servers.Select(s => s.Weight));
    }

    [Fact]
    public void For_any_weights_and_endpoint_counts_every_revision_gets_exactly_its_share()
    {
        var gen =
            from count in Gen.Choose(1, 5)
            from weights in Gen.ListOf(Gen.Choose(0, 100), count)
            from endpoints in Gen.ListOf(Gen.Choose(0, 12), count)
            select weights.Zip(endpoints).ToList();

        Prop.ForAll(gen.ToArbitrary(), revisions =>
        {
            var backends = revisions.Select((r, i) => new TrafficBackend(i, r.First, [.. Enumerable.Range(0, r.Second).Select(e => Endpoint(10000 + (i * 100) + e))])).ToList();
            var servers = NginxWeights.Split(backends);
            var live = revisions.Where(r => r.First > 0 && r.Second > 0).ToList();
            BigInteger totalWeight = live.Sum(r => r.First);
            BigInteger totalServers = servers.Sum(s => s.Weight);

            // Every endpoint is listed once; weight 0 exactly for endpoints of revisions without weight.
            var listed = servers.Count == revisions.Sum(r => r.Second)
                && servers.All(s => (s.Weight == 0) == (revisions[s.Revision].First == 0));

            // The share of each revision is exact: servers(r) / all servers == W(r) / all weights.
            var exact = revisions.Select((r, i) => (BigInteger)servers.Where(s => s.Revision == i).Sum(s => s.Weight) * totalWeight
                == (r.Second == 0 ? 0 : r.First) * totalServers).All(ok => ok);
            return listed && exact;
        }).Check(Config);
    }

    [Fact]
    public void Endpoint_counts_too_diverse_for_exact_weights_still_get_their_share_within_one_ten_thousandth()
    {
        // lcm(7, 11, 13, 17, 19) = 323,323: exact weights would reach 32 million, so the split rounds instead.
        var counts = new[] { 7, 11, 13, 17, 19 };
        var backends = counts.Select((n, i) => new TrafficBackend(i, 20, [.. Enumerable.Range(0, n).Select(e => Endpoint(10000 + (i * 100) + e))])).ToList();

        var servers = NginxWeights.Split(backends);

        double total = servers.Sum(s => s.Weight);
        Assert.All(counts.Select((_, i) => servers.Where(s => s.Revision == i).Sum(s => s.Weight) / total), share => Assert.InRange(share, 0.2 - 1e-4, 0.2 + 1e-4));
        Assert.All(servers, s => Assert.InRange(s.Weight, 1, 10_000_000));
    }

    [Fact]
    public void The_balancing_method_and_passive_health_are_rendered()
    {
        var leastConn = Lines(Render(Route((1, 100, [9001])), new NginxServiceOptions { LoadBalancing = NginxLoadBalancing.LeastConnections, MaxFails = 3, FailTimeout = TimeSpan.FromSeconds(30) }));
        var ipHash = Lines(Render(Route((1, 100, [9001])), new NginxServiceOptions { LoadBalancing = NginxLoadBalancing.IpHash }));
        var roundRobin = Lines(Render(Route((1, 100, [9001]))));

        Assert.Contains("least_conn;", leastConn);
        Assert.Contains("server 127.0.0.1:9001 weight=1 max_fails=3 fail_timeout=30s; # revision 1", leastConn);
        Assert.Contains("ip_hash;", ipHash);
        Assert.DoesNotContain("least_conn;", roundRobin);
        Assert.DoesNotContain("ip_hash;", roundRobin);
        Assert.Contains(roundRobin, l => l.StartsWith("zone bpi_shop_web_", StringComparison.Ordinal));
        Assert.DoesNotContain(Lines(Render(Route((1, 100, [9001])), new NginxServiceOptions { SharedUpstreamState = false })), l => l.StartsWith("zone ", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_path_is_inside_the_prefix_and_the_control_server_answers_the_generation()
    {
        var config = Render(Route((1, 100, [9001])), options: new CueNginxOptions { AccessLog = true });

        Assert.Contains($"pid \"{Prefix}/nginx.pid\";", config, StringComparison.Ordinal);
        Assert.Contains($"error_log \"{Prefix}/logs/error.log\" warn;", config, StringComparison.Ordinal);
        Assert.Contains($"access_log \"{Prefix}/logs/access.log\";", config, StringComparison.Ordinal);
        Assert.Contains($"proxy_temp_path \"{Prefix}/temp/proxy\";", config, StringComparison.Ordinal);
        Assert.Contains($"listen \"unix:{Prefix}/control.sock\";", config, StringComparison.Ordinal);
        Assert.Contains("return 200 \"7\";", config, StringComparison.Ordinal);
        Assert.DoesNotContain("/var/", config, StringComparison.Ordinal);
        Assert.DoesNotContain("/etc/", config, StringComparison.Ordinal);
        Assert.DoesNotContain("include", config, StringComparison.Ordinal);
    }

    [Fact]
    public void A_service_without_weighted_endpoints_answers_503_and_has_no_upstream()
    {
        var config = Render(Route((1, 0, [9001]), (2, 100, [])));

        Assert.Contains("return 503;", config, StringComparison.Ordinal);
        Assert.DoesNotContain("upstream ", config, StringComparison.Ordinal);
        Assert.DoesNotContain("proxy_pass", config, StringComparison.Ordinal);
    }

    [Fact]
    public void TLS_gzip_and_the_listen_address_are_rendered()
    {
        var service = new NginxServiceOptions { Tls = new NginxTlsOptions { CertificatePath = "/certs/a.crt", KeyPath = "/certs/a.key" }, Gzip = true };
        var v4 = Lines(Render(Route((1, 100, [9001])), service));
        var v6 = Lines(Render(Route((1, 100, [9001])), options: new CueNginxOptions { ListenAddress = "::1" }));

        Assert.Contains("listen 127.0.0.1:18080 ssl;", v4);
        Assert.Contains("ssl_certificate \"/certs/a.crt\";", v4);
        Assert.Contains("ssl_certificate_key \"/certs/a.key\";", v4);
        Assert.Contains("ssl_protocols TLSv1.2 TLSv1.3;", v4);
        Assert.Contains("gzip on;", v4);
        Assert.Contains(v4, l => l.StartsWith("gzip_types text/plain", StringComparison.Ordinal));
        Assert.Contains("listen [::1]:18080;", v6);
        Assert.DoesNotContain("gzip on;", v6);
    }

    [Fact]
    public void HttpCage_renders_its_limits_timeouts_methods_and_headers()
    {
        var service = new NginxServiceOptions { HttpCage = new HttpCageOptions { SecurityLevel = HttpCageSecurityLevel.High } };
        var config = Lines(Render(Route((1, 100, [9001])), service));
        var name = NginxConfigRenderer.NameOf("shop/web");

        Assert.Contains($"limit_req_zone $binary_remote_addr zone={name}_req:10m rate=20r/s;", config);
        Assert.Contains($"limit_req zone={name}_req burst=40 nodelay;", config);
        Assert.Contains("limit_req_status 429;", config);
        Assert.Contains($"limit_conn {name}_conn 20;", config);
        Assert.Contains("limit_conn_status 429;", config);
        Assert.Contains("client_max_body_size 1048576;", config);
        Assert.Contains("client_header_timeout 10000ms;", config);
        Assert.Contains("client_body_timeout 10000ms;", config);
        Assert.Contains("keepalive_timeout 15000ms;", config);
        Assert.Contains($"if ($bpi_method_{name[^8..]} = 0) {{", config);
        Assert.Contains("add_header Allow \"GET, HEAD, POST, PUT, PATCH, DELETE\" always;", config);
        Assert.DoesNotContain("OPTIONS 1;", config);
        Assert.Contains("DELETE 1;", config);
        Assert.Contains("add_header X-Content-Type-Options \"nosniff\" always;", config);
        Assert.Contains("add_header X-Frame-Options \"DENY\" always;", config);
        Assert.Contains("add_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'none'\" always;", config);
        Assert.Contains("proxy_hide_header X-Frame-Options;", config);
        Assert.DoesNotContain(config, l => l.Contains("Strict-Transport-Security", StringComparison.Ordinal)); // no TLS, no HSTS
    }

    [Fact]
    public void HSTS_is_sent_only_when_the_service_terminates_TLS()
    {
        var cage = new HttpCageOptions { SecurityLevel = HttpCageSecurityLevel.Medium };
        var tls = Render(Route((1, 100, [9001])), new NginxServiceOptions { HttpCage = cage, Tls = new NginxTlsOptions { CertificatePath = "/c", KeyPath = "/k" } });
        var plain = Render(Route((1, 100, [9001])), new NginxServiceOptions { HttpCage = cage });

        Assert.Contains("add_header Strict-Transport-Security \"max-age=15552000\" always;", tls, StringComparison.Ordinal);
        Assert.DoesNotContain("Strict-Transport-Security", plain, StringComparison.Ordinal);
    }

    [Fact]
    public void The_rate_limiting_and_ddos_protection_switches_turn_their_parts_off()
    {
        var service = new NginxServiceOptions { HttpCage = new HttpCageOptions { RateLimiting = false, DdosProtection = false } };
        var config = Render(Route((1, 100, [9001])), service);

        Assert.DoesNotContain("limit_req", config.Replace("limit_req_log_level", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("limit_conn ", config, StringComparison.Ordinal);
        Assert.DoesNotContain("limit_conn_zone", config, StringComparison.Ordinal);
        Assert.DoesNotContain("client_header_timeout", config, StringComparison.Ordinal);
        Assert.Contains("client_max_body_size 10485760;", config, StringComparison.Ordinal); // always on
        Assert.Contains("add_header X-Content-Type-Options \"nosniff\" always;", config, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_names_are_safe_for_nginx_and_distinct_for_ids_that_slug_alike()
    {
        var a = NginxConfigRenderer.NameOf("shop/web");
        var b = NginxConfigRenderer.NameOf("shop-web");
        var odd = NginxConfigRenderer.NameOf("dep x;{}\n/cömp");

        Assert.NotEqual(a, b);
        Assert.StartsWith("bpi_shop_web_", a, StringComparison.Ordinal);
        Assert.All(new[] { a, b, odd }, n => Assert.True(n.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'), n));
    }

    [Fact]
    public void The_same_services_in_any_order_render_the_same_text()
    {
        var options = new CueNginxOptions();
        var one = new NginxServiceConfig(Route((1, 100, [9001])), 18080, new NginxServiceOptions());
        var two = new NginxServiceConfig(Route((1, 100, [9002])) with { ServiceId = "shop/api" }, 18081, new NginxServiceOptions());

        Assert.Equal(NginxConfigRenderer.Render(options, Prefix, 1, [one, two]), NginxConfigRenderer.Render(options, Prefix, 1, [two, one]));
    }

    [Fact]
    public void Stub_status_text_is_parsed_into_counters()
    {
        var status = NginxStatus.Parse("Active connections: 3 \nserver accepts handled requests\n 12 12 40 \nReading: 0 Writing: 1 Waiting: 2 \n", 5, 4242);

        Assert.Equal(new NginxStatus(5, 4242, 3, 12, 12, 40, 0, 1, 2), status);
        Assert.Null(NginxStatus.Parse("<html>not stub_status</html>", 5, 4242));
    }

    [SkippableFact]
    public async Task nginx_accepts_the_config_of_every_preset_balancing_method_and_TLS_setting()
    {
        var nginxPath = NginxTestEnvironment.RequireNginx();
        var directory = NginxTestRouter.NewDirectory();
        var (certificate, key) = NginxHttp.WriteSelfSignedCertificate(Path.Combine(directory, "certs"));
        var options = new CueNginxOptions();
        var services = new List<NginxServiceConfig>();
        var port = 20000;
        foreach (var level in Enum.GetValues<HttpCageSecurityLevel>())
        {
            foreach (var balancing in Enum.GetValues<NginxLoadBalancing>())
            {
                foreach (var tls in new[] { false, true })
                {
                    var service = new NginxServiceOptions
                    {
                        LoadBalancing = balancing,
                        Gzip = tls,
                        Tls = tls ? new NginxTlsOptions { CertificatePath = certificate, KeyPath = key } : null,
                        HttpCage = new HttpCageOptions { SecurityLevel = level, RejectStatusCode = tls ? 503 : null },
                    };
                    var route = new TrafficRoute($"svc/{level}-{balancing}-{tls}", [new TrafficBackend(1, 30, [Endpoint(9001), Endpoint(9002)]), new TrafficBackend(2, 70, [Endpoint(9003)]), new TrafficBackend(3, 0, [Endpoint(9004)])]);
                    services.Add(new NginxServiceConfig(route, port++, service));
                }
            }
        }

        services.Add(new NginxServiceConfig(new TrafficRoute("svc/empty", []), port, new NginxServiceOptions()));
        var process = new NginxProcess(nginxPath, directory, options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        process.Prepare();
        var path = Path.Combine(directory, "conf", "candidate.conf");
        await File.WriteAllTextAsync(path, NginxConfigRenderer.Render(options, directory, 1, services));

        try
        {
            var result = await process.TestAsync(path, CancellationToken.None);

            Assert.True(result.ExitCode == 0, result.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
