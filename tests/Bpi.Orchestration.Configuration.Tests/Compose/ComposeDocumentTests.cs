using Bpi.Orchestration.Configuration.Compose;
using Bpi.Orchestration.Hardening;

namespace Bpi.Orchestration.Configuration.Tests.Compose;

public sealed class ComposeDocumentTests
{
    private static readonly Dictionary<string, string> NoVariables = new(StringComparer.Ordinal);

    private static ComposeDocument Read(string yaml, Dictionary<string, string>? variables = null, bool strict = true, string? baseDirectory = null)
        => ComposeDocument.Parse(yaml, new ComposeOptions { Name = "shop", Environment = variables ?? NoVariables, Strict = strict, BaseDirectory = baseDirectory, Source = "docker-compose.yml" });

    private static OrchestrationException Refused(string yaml, Dictionary<string, string>? variables = null)
        => Assert.Throws<OrchestrationException>(() => Read(yaml, variables));

    /// <summary>A typical web + database + cache file, with the dependency written before the services it feeds.</summary>
    internal const string WebDatabaseCache = """
        services:
          web:
            image: shop/web:${WEB_TAG:-1.4}
            command: ["/bin/httpd", "-f", "-p", "8080"]
            ports:
              - "8080"
            environment:
              DATABASE_URL: postgres://db:5432/shop
              CACHE_HOST: cache
              LOG_LEVEL: ${LOG_LEVEL:-info}
            depends_on:
              - db
              - cache
            deploy:
              replicas: 3
              resources:
                limits: { cpus: "0.5", memory: 512M }
            restart: unless-stopped
          cache:
            image: redis:7
            command: redis-server --appendonly yes --save "60 1"
            ports: ["6379/tcp"]
          db:
            image: postgres:16
            environment:
              - POSTGRES_DB=shop
              - POSTGRES_PASSWORD
            volumes:
              - db-data:/var/lib/postgresql/data
            restart: on-failure:5
        volumes:
          db-data:
        """;

    [Fact]
    public void A_web_database_and_cache_file_becomes_one_deployment_in_dependency_order()
    {
        var document = Read(WebDatabaseCache, new() { ["POSTGRES_PASSWORD"] = "s3cret", ["WEB_TAG"] = "2.0" });
        var spec = document.Spec;

        Assert.Equal("shop", spec.Name);
        Assert.Equal(DeploymentType.DockLockContainer, spec.Type);
        Assert.Equal(["cache", "db", "web"], spec.Components.Select(c => c.Id));
        Assert.Empty(document.Warnings);

        var web = spec.Components.Single(c => c.Id == "web");
        Assert.Equal("shop/web:2.0", web.Image);
        Assert.Equal("/bin/httpd", web.Command!.FileName);
        Assert.Equal(["-f", "-p", "8080"], web.Command.Arguments);
        Assert.Equal(3, web.Replicas);
        Assert.Equal(0.5, web.Resources.CpuCores);
        Assert.Equal(512, web.Resources.MemoryMb);
        Assert.Equal(8080, Assert.Single(web.Ports).ContainerPort);
        Assert.Equal("info", web.Environment["LOG_LEVEL"]);
        Assert.Equal(["db", "cache"], web.DependsOn);
        Assert.Equal(RestartPolicyKind.Always, web.Restart.Kind);

        var cache = spec.Components.Single(c => c.Id == "cache");
        Assert.Equal("redis-server", cache.Command!.FileName);
        Assert.Equal(["--appendonly", "yes", "--save", "60 1"], cache.Command.Arguments);

        var db = spec.Components.Single(c => c.Id == "db");
        Assert.Equal("s3cret", db.Environment["POSTGRES_PASSWORD"]);
        Assert.Equal("shop", db.Environment["POSTGRES_DB"]);
        Assert.Equal("/var/lib/postgresql/data", db.RuntimeSettings[DockLockSettings.VolumePrefix + "db-data"]);
        Assert.Equal(RestartPolicySpec.OnFailure(5), db.Restart);
        Assert.Null(db.Command);
    }

    [Fact]
    public void Healthcheck_gated_depends_on_keeps_the_healthcheck_as_an_exec_probe_with_its_timings()
    {
        const string yaml = """
            services:
              api:
                image: shop/api:1
                depends_on:
                  db:
                    condition: service_healthy
                  queue:
                    condition: service_started
              db:
                image: postgres:16
                healthcheck:
                  test: ["CMD-SHELL", "pg_isready -U postgres"]
                  interval: 1m30s
                  timeout: 5s
                  retries: 7
                  start_period: 500ms
              queue:
                image: nats:2
                healthcheck:
                  test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:8222/healthz"]
            """;

        var spec = Read(yaml).Spec;

        Assert.Equal(["db", "queue", "api"], spec.Components.Select(c => c.Id));
        var db = spec.Components[0].HealthCheck!;
        Assert.Equal(HealthCheckKind.Exec, db.Kind);
        Assert.Equal(["/bin/sh", "-c", "pg_isready -U postgres"], db.Command);
        Assert.Equal(TimeSpan.FromSeconds(90), db.Period);
        Assert.Equal(TimeSpan.FromSeconds(5), db.Timeout);
        Assert.Equal(7, db.FailureThreshold);
        Assert.Equal(TimeSpan.FromMilliseconds(500), db.InitialDelay);
        Assert.Equal(["wget", "-q", "-O", "-", "http://127.0.0.1:8222/healthz"], spec.Components[1].HealthCheck!.Command);
        Assert.Equal(["db", "queue"], spec.Components[2].DependsOn);
    }

    [Fact]
    public void Waiting_for_a_service_to_be_healthy_that_has_no_healthcheck_is_refused()
    {
        var ex = Refused("""
            services:
              api: { image: "a:1", depends_on: { db: { condition: service_healthy } } }
              db: { image: "postgres:16" }
            """);

        Assert.Contains(ex.Errors, e => e.StartsWith("services.api.depends_on.db.condition: waits for 'db' to be healthy", StringComparison.Ordinal));
    }

    [Fact]
    public void Env_files_are_read_next_to_the_file_and_environment_entries_win()
    {
        using var directory = new TempDirectory();
        File.WriteAllText(Path.Combine(directory.Path, "common.env"), "# shared\nexport REGION=eu-west\nMODE='batch'\nGREETING=\"hello world\"\nOVERRIDDEN=from-file\n\n");
        File.WriteAllText(Path.Combine(directory.Path, "web.env"), "PORT=8080 # the port\n");

        var spec = Read("""
            services:
              web:
                image: shop/web:1
                env_file: [common.env, web.env, { path: missing.env, required: false }]
                environment: { OVERRIDDEN: from-compose }
            """, baseDirectory: directory.Path).Spec;

        var environment = spec.Components[0].Environment;
        Assert.Equal("eu-west", environment["REGION"]);
        Assert.Equal("batch", environment["MODE"]);
        Assert.Equal("hello world", environment["GREETING"]);
        Assert.Equal("from-compose", environment["OVERRIDDEN"]);
        Assert.Equal("8080", environment["PORT"]);
    }

    [Fact]
    public void A_missing_env_file_is_a_problem_at_its_path()
    {
        using var directory = new TempDirectory();
        var ex = Assert.Throws<OrchestrationException>(() => Read("services:\n  web: { image: 'w:1', env_file: absent.env }\n", baseDirectory: directory.Path));

        Assert.Contains(ex.Errors, e => e.StartsWith("services.web.env_file: the env file ", StringComparison.Ordinal) && e.Contains("absent.env", StringComparison.Ordinal));
    }

    internal const string UnsupportedKeys = """
        version: "3.9"
        services:
          web:
            build: ./web
            image: shop/web:1
            container_name: shop-web
            ports: ["8080:80", "9000-9005"]
            volumes:
              - ./static:/srv/static:ro
              - cache:/var/cache
            privileged: true
            deploy:
              replicas: 2
              placement: { constraints: ["node.role == manager"] }
          worker:
            image: shop/worker:1
            depends_on:
              migrate: { condition: service_completed_successfully }
          migrate:
            image: shop/migrate:1
        secrets:
          api-key: { file: ./api-key.txt }
        volumes:
          cache:
            external: true
        """;

    [Fact]
    public void Every_key_that_cannot_be_honoured_is_listed_by_path_at_once_in_strict_mode()
    {
        var ex = Refused(UnsupportedKeys);

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, ex.Kind);
        string[] paths =
        [
            "secrets", "volumes.cache.external", "services.web.build", "services.web.container_name", "services.web.ports[0]",
            "services.web.ports[1]", "services.web.volumes[0]", "services.web.privileged", "services.web.deploy.placement",
            "services.worker.depends_on.migrate.condition",
        ];
        foreach (var path in paths)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(path + ": ", StringComparison.Ordinal));
        }

        Assert.Equal(paths.Length, ex.Errors.Count);
        Assert.StartsWith("Compose file 'docker-compose.yml' is invalid (10 problems)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lenient_mode_drops_what_cannot_be_honoured_and_returns_it_as_warnings()
    {
        var document = Read(UnsupportedKeys, strict: false);

        Assert.Equal(10, document.Warnings.Count);
        Assert.Contains(document.Warnings, w => w.StartsWith("dropped services.web.build: ", StringComparison.Ordinal));
        var web = document.Spec.Components.Single(c => c.Id == "web");
        Assert.Equal(80, Assert.Single(web.Ports).ContainerPort);
        Assert.Equal(2, web.Replicas);
        Assert.Equal("/var/cache", web.RuntimeSettings[DockLockSettings.VolumePrefix + "cache"]);
        Assert.DoesNotContain(web.RuntimeSettings.Keys, k => k.Contains("static", StringComparison.Ordinal));
        Assert.Equal(["migrate"], document.Spec.Components.Single(c => c.Id == "worker").DependsOn);
    }

    [Fact]
    public void Malformed_values_are_refused_even_in_lenient_mode_all_listed()
    {
        const string yaml = """
            services:
              Web_1:
                image: w:1
                deploy: { replicas: many, resources: { limits: { memory: lots } } }
                healthcheck: { test: ["CMD"], interval: soon }
                depends_on: [ghost]
              api:
                ports: ["http"]
                restart: sometimes
                environment: { KEY: "${REQUIRED:?set REQUIRED first}" }
            """;

        var ex = Assert.Throws<OrchestrationException>(() => Read(yaml, strict: false));

        string[] paths =
        [
            "services.Web_1", "services.Web_1.deploy.replicas", "services.Web_1.deploy.resources.limits.memory",
            "services.Web_1.healthcheck.test", "services.Web_1.healthcheck.interval", "services.Web_1.depends_on",
            "services.api.image", "services.api.ports[0]", "services.api.restart", "services.api.environment.KEY",
        ];
        foreach (var path in paths)
        {
            Assert.Contains(ex.Errors, e => e.StartsWith(path + ": ", StringComparison.Ordinal));
        }

        Assert.Contains(ex.Errors, e => e.Contains("the variable REQUIRED is required: set REQUIRED first", StringComparison.Ordinal));
    }

    [Fact]
    public void A_healthcheck_timeout_longer_than_its_interval_is_reported_at_its_path_and_lenient_mode_uses_the_interval()
    {
        const string yaml = "services:\n  db:\n    image: d:1\n    healthcheck: { test: [CMD, true], interval: 1s, timeout: 5s }\n";

        Assert.Contains(Refused(yaml).Errors, e => e.StartsWith("services.db.healthcheck.timeout: ", StringComparison.Ordinal));
        Assert.Equal(TimeSpan.FromSeconds(1), Read(yaml, strict: false).Spec.Components[0].HealthCheck!.Timeout);
    }

    [Fact]
    public void A_short_interval_without_a_timeout_is_accepted_with_the_interval_as_timeout_and_a_longer_one_keeps_compose_s_30_s_default()
    {
        var short_ = Read("services:\n  db:\n    image: d:1\n    healthcheck: { test: [CMD, true], interval: 2s }\n").Spec.Components[0].HealthCheck!;
        var long_ = Read("services:\n  db:\n    image: d:1\n    healthcheck: { test: [CMD, true], interval: 1m }\n").Spec.Components[0].HealthCheck!;

        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)), (short_.Period, short_.Timeout));
        Assert.Equal((TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30)), (long_.Period, long_.Timeout));
    }

    [Fact]
    public void The_specs_own_checks_name_the_service()
    {
        var ex = Refused("services:\n  web: { image: 'w:1', deploy: { resources: { limits: { memory: 2M } } } }\n");

        Assert.Contains(ex.Errors, e => e.StartsWith("services.web", StringComparison.Ordinal));
        Assert.DoesNotContain(ex.Errors, e => e.StartsWith("components[", StringComparison.Ordinal));
    }

    [Fact]
    public void A_dependency_cycle_is_refused_naming_its_services()
    {
        var ex = Refused("""
            services:
              a: { image: "a:1", depends_on: [b] }
              b: { image: "b:1", depends_on: [a] }
              c: { image: "c:1" }
            """);

        Assert.Contains(ex.Errors, e => e.StartsWith("services: the depends_on of a, b form a cycle", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("${A}", "1")]
    [InlineData("$A-$B", "1-")]
    [InlineData("${B:-fallback}", "fallback")]
    [InlineData("${E:-fallback}", "fallback")]
    [InlineData("${E-fallback}", "")]
    [InlineData("${B-${A}0}", "10")]
    [InlineData("${A:+set}", "set")]
    [InlineData("cost: $$5", "cost: $5")]
    public void Variables_are_interpolated_as_compose_does(string text, string expected)
    {
        var errors = new List<string>();
        var variables = new Dictionary<string, string> { ["A"] = "1", ["E"] = "" };

        var result = ComposeInterpolation.Interpolate(text, n => variables.TryGetValue(n, out var v) ? v : null, "x", errors);

        Assert.Empty(errors);
        Assert.Equal(expected, result);
    }

    [Theory]
    [InlineData("1m30s", 90_000)]
    [InlineData("10s", 10_000)]
    [InlineData("500ms", 500)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5s", 1_500)]
    public void Durations_are_read_in_compose_format(string text, int milliseconds)
    {
        Assert.True(ComposeReader.TryParseGoDuration(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), duration);
    }

    [Fact]
    public void Service_networks_that_ask_for_isolation_are_reported_and_shared_ones_are_honoured()
    {
        const string shared = """
            services:
              web: { image: "w:1", networks: [front] }
              api: { image: "a:1", networks: { front: } }
            networks:
              front: { driver: bridge }
            """;
        Assert.Equal(2, Read(shared).Spec.Components.Count);

        var ex = Refused("""
            services:
              web: { image: "w:1", networks: [front] }
              db: { image: "d:1", networks: [back] }
              api: { image: "a:1", networks: [front, back] }
            networks: { front: , back: }
            """);
        Assert.Contains(ex.Errors, e => e.StartsWith("services.web.networks: ", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("services.db.networks: ", StringComparison.Ordinal));
        Assert.DoesNotContain(ex.Errors, e => e.StartsWith("services.api.networks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Loading_a_file_names_the_deployment_after_its_directory_and_reads_dot_env()
    {
        using var directory = new TempDirectory();
        var project = Directory.CreateDirectory(Path.Combine(directory.Path, "My_Shop")).FullName;
        File.WriteAllText(Path.Combine(project, ".env"), "TAG=3.1\n");
        var file = Path.Combine(project, "compose.yaml");
        File.WriteAllText(file, "services:\n  web:\n    image: shop/web:${TAG}\n");

        var document = await ComposeDocument.LoadAsync(file, new ComposeOptions { Environment = NoVariables });

        Assert.Equal("my-shop", document.Spec.Name);
        Assert.Equal("shop/web:3.1", document.Spec.Components[0].Image);
    }
}
