using System.Net.Http;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Tests.Docker;

/// <summary>The Docker runtime's replica sets on the real engine.</summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerWorkloadRuntimeTests(DockerEngineFixture fixture)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [SkippableFact]
    public async Task Ensuring_replicas_starts_that_many_containers_each_serving_on_its_own_published_endpoint()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(version: "v1"));
        try
        {
            await runtime.EnsureReplicasAsync(revision, 3);

            var instances = await WaitForRunningAsync(runtime, revision, 3);
            Assert.All(instances, i => Assert.Equal("127.0.0.1", i.Endpoint!.Host));
            Assert.Equal(3, instances.Select(i => i.Endpoint!.Port).Distinct().Count());
            Assert.All(instances, i => Assert.Equal(fixture.OwnerId, i.OwnerId));
            foreach (var instance in instances)
            {
                Assert.Equal("version=v1", (await Http.GetStringAsync($"http://{instance.Endpoint}/cgi-bin/version")).Trim());
            }
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Ensuring_the_same_count_again_changes_nothing()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent());
        try
        {
            await runtime.EnsureReplicasAsync(revision, 2);
            var before = (await runtime.GetInstancesAsync(revision.DeploymentId)).Select(i => i.InstanceId).Order().ToList();

            await runtime.EnsureReplicasAsync(revision, 2);

            var after = (await runtime.GetInstancesAsync(revision.DeploymentId)).Select(i => i.InstanceId).Order().ToList();
            Assert.Equal(before, after);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Scaling_down_removes_the_surplus_and_zero_removes_every_container_of_the_revision()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var v1 = fixture.Revision(DockerEngineFixture.HttpComponent(version: "v1"));
        var v2 = v1 with { Revision = 2, Component = DockerEngineFixture.HttpComponent(version: "v2") };
        try
        {
            await runtime.EnsureReplicasAsync(v1, 3);
            await runtime.EnsureReplicasAsync(v2, 1);

            await runtime.EnsureReplicasAsync(v1, 1);
            Assert.Single(await runtime.GetInstancesAsync(v1.DeploymentId, "web", 1));

            await runtime.EnsureReplicasAsync(v1, 0);
            var left = await runtime.GetInstancesAsync(v1.DeploymentId);
            Assert.Equal(2, Assert.Single(left).Revision);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(v1.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Containers_are_locked_down_by_default_as_seen_through_inspect_and_from_inside()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with { Resources = new ComponentResources { CpuCores = 0.5, MemoryMb = 64 } });
        try
        {
            await runtime.EnsureReplicasAsync(revision, 1);
            var instance = Assert.Single(await WaitForRunningAsync(runtime, revision, 1));

            var inspect = await fixture.Client.InspectContainerAsync(instance.InstanceId);
            var host = inspect.HostConfig!;
            Assert.True(host.ReadonlyRootfs);
            Assert.Equal(["ALL"], host.CapDrop);
            Assert.Contains("no-new-privileges:true", host.SecurityOpt!);
            Assert.Equal(256, host.PidsLimit);
            Assert.Equal(64L * 1024 * 1024, host.Memory);
            Assert.Equal(500_000_000, host.NanoCPUs);
            Assert.False(host.Privileged);
            Assert.StartsWith("rw,noexec,nosuid", host.Tmpfs!["/tmp"], StringComparison.Ordinal);
            Assert.Equal("127.0.0.1", host.PortBindings!["8080/tcp"]![0].HostIP);
            Assert.Equal(global::Docker.DotNet.Models.RestartPolicyKind.No, host.RestartPolicy!.Name);
            Assert.Equal("65534:65534", inspect.Config!.User);
            Assert.Equal("none", inspect.Config.Labels![DockerNaming.RelaxationsLabel]);

            var uid = await fixture.Client.ExecAsync(instance.InstanceId, ["/bin/id", "-u"]);
            var writeRoot = await fixture.Client.ExecAsync(instance.InstanceId, ["/bin/touch", "/www/new-file"]);
            var writeTmp = await fixture.Client.ExecAsync(instance.InstanceId, ["/bin/touch", "/tmp/new-file"]);
            Assert.Equal("65534", uid.Stdout.Trim());
            Assert.NotEqual(0, writeRoot.ExitCode);
            Assert.Contains("Read-only file system", writeRoot.Stderr, StringComparison.Ordinal);
            Assert.Equal(0, writeTmp.ExitCode);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task A_relaxation_with_a_reason_is_applied_labelled_and_appended_to_the_audit_trail()
    {
        await fixture.RequireEngineAsync();
        var audit = new RecordingAuditSink();
        await using var runtime = fixture.CreateRuntime(audit: audit);
        var component = DockerEngineFixture.HttpComponent() with
        {
            RuntimeSettings = new Dictionary<string, string>
            {
                [DockLockSettings.ReadOnlyRootFilesystem] = "false",
                [DockLockSettings.ReadOnlyRootFilesystem + DockLockSettings.ReasonSuffix] = "legacy app writes under /www",
                [DockLockSettings.AddCapabilities] = "NET_BIND_SERVICE",
            },
        };
        var revision = fixture.Revision(component);
        try
        {
            await runtime.EnsureReplicasAsync(revision, 2);

            var instance = (await WaitForRunningAsync(runtime, revision, 2))[0];
            var inspect = await fixture.Client.InspectContainerAsync(instance.InstanceId);
            Assert.False(inspect.HostConfig!.ReadonlyRootfs);
            Assert.Equal(["NET_BIND_SERVICE"], inspect.HostConfig.CapAdd);
            Assert.Equal(["ALL"], inspect.HostConfig.CapDrop);
            Assert.Equal(DockLockSettings.ReadOnlyRootFilesystem, inspect.Config!.Labels![DockerNaming.RelaxationsLabel]);

            var audited = Assert.Single(audit.Events);
            Assert.Equal(DockLockSettings.RelaxationAuditAction, audited.Action);
            Assert.Equal(revision.DeploymentId, audited.Target);
            Assert.Equal(DockLockSettings.ReadOnlyRootFilesystem, audited.Data!["setting"]);
            Assert.Equal("legacy app writes under /www", audited.Data["reason"]);
            Assert.Equal("web", audited.Data["component"]);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task A_relaxation_without_a_reason_is_refused_before_anything_is_created()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with
        {
            RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.NonRootUser] = "false" },
        });

        var error = await Assert.ThrowsAsync<OrchestrationException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

        Assert.Equal(OrchestrationErrorKind.InvalidConfiguration, error.Kind);
        Assert.Contains("docklock.nonRootUser.reason", error.Message, StringComparison.Ordinal);
        Assert.Empty(await runtime.GetInstancesAsync(revision.DeploymentId));
        Assert.Empty(await fixture.Client.ListNetworksAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = revision.DeploymentId }));
    }

    [SkippableFact]
    public async Task A_container_that_exits_at_start_fails_with_its_exit_code_and_last_log_lines_and_is_kept()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime(o => o.StartupCheckWindow = TimeSpan.FromSeconds(5));
        var component = DockerEngineFixture.HttpComponent() with
        {
            Command = new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", "echo starting with password $DB_PASSWORD; echo 'fatal: /etc/app.conf missing' >&2; exit 3"] },
            Secrets = new Dictionary<string, string> { ["DB_PASSWORD"] = "s3cr3t-value" },
        };
        var revision = fixture.Revision(component);
        try
        {
            var error = await Assert.ThrowsAsync<ContainerStartupException>(async () => await runtime.EnsureReplicasAsync(revision, 2));

            Assert.Equal(OrchestrationErrorKind.ContainerStartupFailed, error.Kind);
            Assert.Equal(3, error.ExitCode);
            Assert.Contains("starting with password ***", error.LogTail);
            Assert.Contains("fatal: /etc/app.conf missing", error.LogTail);
            Assert.DoesNotContain("s3cr3t-value", error.Message, StringComparison.Ordinal);
            Assert.Contains("exit code 3", error.Message, StringComparison.Ordinal);
            Assert.Equal(revision.DeploymentId, error.DeploymentId);

            var instances = await runtime.GetInstancesAsync(revision.DeploymentId);
            Assert.Equal(2, instances.Count);
            Assert.All(instances, i =>
            {
                Assert.Equal(InstanceState.Failed, i.State);
                Assert.Equal(3, i.ExitCode);
                Assert.True(i.IsTerminated);
            });
            Assert.Contains("fatal: /etc/app.conf missing", await runtime.GetLogTailAsync(error.InstanceId, 5));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task A_container_restarted_by_its_restart_policy_during_startup_fails_the_start()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime(o => o.StartupCheckWindow = TimeSpan.FromSeconds(2));
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with
        {
            Command = new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", "echo crashing; exit 2"] },
            RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.RestartPolicy] = "on-failure:3" },
        });
        try
        {
            var error = await Assert.ThrowsAsync<ContainerStartupException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

            // Caught while restarting or after the last retry the exit code is known; caught running again it is not.
            Assert.True(error.ExitCode is null or 2, $"exit code {error.ExitCode}");
            Assert.Contains("restart", error.Reason, StringComparison.Ordinal);
            Assert.Contains("crashing", error.LogTail);
            var inspect = await fixture.Client.InspectContainerAsync(error.InstanceId);
            Assert.Equal(("on-failure", 3), (Bpi.Orchestration.Components.Docker.DockLock.DockLockPolicy.RestartWord(inspect.HostConfig!.RestartPolicy!.Name), (int)inspect.HostConfig.RestartPolicy.MaximumRetryCount));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task A_container_whose_program_does_not_exist_fails_with_exit_code_127_and_the_reason_in_its_log()
    {
        await fixture.RequireEngineAsync();
        // A wide startup window: on a loaded machine the init process may take longer than the default 500 ms to fail.
        await using var runtime = fixture.CreateRuntime(o => o.StartupCheckWindow = TimeSpan.FromSeconds(10));
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with { Command = new CommandSpec { FileName = "/bin/no-such-program" } });
        try
        {
            var error = await Assert.ThrowsAsync<ContainerStartupException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

            // The init process (DockerRuntimeOptions.UseInit) starts, then fails to run the program and says so.
            Assert.Equal(127, error.ExitCode);
            Assert.Contains(error.LogTail, line => line.Contains("/bin/no-such-program", StringComparison.Ordinal));
            Assert.Equal(InstanceState.Failed, Assert.Single(await runtime.GetInstancesAsync(revision.DeploymentId)).State);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Without_init_a_program_that_does_not_exist_is_refused_by_the_engine_with_its_reason()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime(o => o.UseInit = false);
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with { Command = new CommandSpec { FileName = "/bin/no-such-program" } });
        try
        {
            var error = await Assert.ThrowsAsync<ContainerStartupException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

            Assert.Contains("/bin/no-such-program", error.Reason, StringComparison.Ordinal);
            Assert.Equal(127, error.ExitCode);
            Assert.IsType<DockerEngineException>(error.InnerException);
            Assert.Equal(InstanceState.Failed, Assert.Single(await runtime.GetInstancesAsync(revision.DeploymentId)).State);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task A_missing_image_whose_registry_does_not_answer_fails_as_ImagePullFailed_naming_image_and_registry()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();

        // A loopback port nothing listens on: the engine tries to pull and the registry cannot be reached.
        var image = "127.0.0.1:9/bpi-test/does-not-exist:1";
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent(image: image));
        try
        {
            var error = await Assert.ThrowsAsync<DockerEngineException>(async () => await runtime.EnsureReplicasAsync(revision, 1));

            Assert.Equal(OrchestrationErrorKind.ImagePullFailed, error.Kind);
            Assert.Contains($"Could not pull image '{image}' from 127.0.0.1:9", error.Message, StringComparison.Ordinal);
            Assert.Contains("connection refused", error.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Empty(await fixture.Client.ListContainersAsync(new Dictionary<string, string?> { [WorkloadLabels.Deployment] = revision.DeploymentId }));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task The_image_healthcheck_status_maps_to_instance_health()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var deploymentId = DockerEngineFixture.NewDeploymentId();
        var healthy = fixture.Revision(DockerEngineFixture.HttpComponent("healthy", image: TestImages.WithHealthcheck), deploymentId: deploymentId);
        var failing = fixture.Revision(DockerEngineFixture.HttpComponent("failing", image: TestImages.WithHealthcheck) with
        {
            Environment = new Dictionary<string, string> { ["FAIL_HEALTH"] = "1" },
        }, deploymentId: deploymentId);
        try
        {
            await runtime.EnsureReplicasAsync(healthy, 1);
            await runtime.EnsureReplicasAsync(failing, 1);

            var good = await Eventually.UntilAsync(
                async () => Assert.Single(await runtime.GetInstancesAsync(deploymentId, "healthy")),
                i => i.Health == InstanceHealth.Healthy,
                "the healthy container's HEALTHCHECK passes");
            var bad = await Eventually.UntilAsync(
                async () => Assert.Single(await runtime.GetInstancesAsync(deploymentId, "failing")),
                i => i.Health == InstanceHealth.Unhealthy,
                "the failing container's HEALTHCHECK fails");

            Assert.Equal(InstanceState.Running, good.State);
            Assert.Equal(InstanceState.Running, bad.State);
            Assert.Contains("HEALTHCHECK failing", bad.Message, StringComparison.Ordinal);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(deploymentId);
        }
    }

    [SkippableFact]
    public async Task An_instance_is_starting_until_its_first_healthcheck_and_without_one_health_is_unknown()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime(o => o.StartupCheckWindow = TimeSpan.Zero);
        var deploymentId = DockerEngineFixture.NewDeploymentId();
        var checkedOne = fixture.Revision(DockerEngineFixture.HttpComponent("checked", image: TestImages.WithSlowHealthcheck), deploymentId: deploymentId);
        var plain = fixture.Revision(DockerEngineFixture.HttpComponent("plain"), deploymentId: deploymentId);
        try
        {
            await runtime.EnsureReplicasAsync(checkedOne, 1);
            var first = Assert.Single(await runtime.GetInstancesAsync(deploymentId, "checked"));
            await runtime.EnsureReplicasAsync(plain, 1);

            // The image's HEALTHCHECK first runs a minute after the start.
            Assert.Equal(InstanceState.Starting, first.State);
            Assert.Equal(InstanceHealth.Unknown, first.Health);
            var unchecked_ = Assert.Single(await WaitForRunningAsync(runtime, plain, 1));
            Assert.Equal(InstanceHealth.Unknown, unchecked_.Health);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(deploymentId);
        }
    }

    [SkippableFact]
    public async Task The_log_tail_holds_the_last_lines_of_stdout_and_stderr()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();

        // stdout and stderr reach the engine through separate pipes, copied independently; the pauses make the order likely.
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with
        {
            Command = new CommandSpec { FileName = "/bin/sh", Arguments = ["-c", "for i in 1 2 3 4 5; do echo out$i; done; sleep 0.3; echo err1 >&2; sleep 0.3; echo out6; exec /bin/httpd -f -p 8080 -h /www"] },
        });
        try
        {
            await runtime.EnsureReplicasAsync(revision, 1);
            var instance = Assert.Single(await WaitForRunningAsync(runtime, revision, 1));

            var all = await Eventually.UntilAsync(
                async () => await runtime.GetLogTailAsync(instance.InstanceId, 100),
                lines => lines.Contains("out6"),
                "the container has written its lines");
            var tail = await runtime.GetLogTailAsync(instance.InstanceId, 2);

            Assert.Equal(7, all.Count);
            Assert.Equal(["out1", "out2", "out3", "out4", "out5"], all.Where(l => l.StartsWith("out", StringComparison.Ordinal)).Take(5));
            // stdout and stderr travel through separate pipes, so under load err1 may land anywhere among the out lines:
            // the tail must be the last two lines of the whole log, ending with out6 (written after a pause).
            Assert.Equal(all.TakeLast(2), tail);
            Assert.Contains("err1", all);
            Assert.Equal("out6", tail[^1]);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Commands_run_inside_the_container_with_their_exit_code_and_interleaved_output()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        IWorkloadCommandRunner runner = runtime;
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent());
        try
        {
            await runtime.EnsureReplicasAsync(revision, 1);
            var instance = Assert.Single(await WaitForRunningAsync(runtime, revision, 1));

            var pass = await runner.ExecAsync(instance, ["/bin/cat", "/www/health"]);
            var fail = await runner.ExecAsync(instance, ["/bin/sh", "-c", "echo checking; sleep 0.2; echo not ready >&2; exit 4"]);
            var gone = await Assert.ThrowsAsync<DockerEngineException>(async () => await runner.ExecAsync(instance with { InstanceId = "bpi-no-such-container" }, ["/bin/true"]));

            Assert.Equal(new CommandResult(0, "ok\n"), pass);
            Assert.Equal(4, fail.ExitCode);
            Assert.Equal("checking\nnot ready\n", fail.Output);
            Assert.Equal(OrchestrationErrorKind.NotFound, gone.Kind);
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Components_reach_their_dependencies_by_id_on_the_deployment_network_and_start_only_after_them()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime(o => o.DependencyTimeout = TimeSpan.FromSeconds(20));
        var deploymentId = DockerEngineFixture.NewDeploymentId();
        var db = fixture.Revision(DockerEngineFixture.HttpComponent("db", version: "db-1"), deploymentId: deploymentId);
        var api = fixture.Revision(DockerEngineFixture.HttpComponent("api") with { DependsOn = ["db"] }, deploymentId: deploymentId);
        try
        {
            var tooEarly = await Assert.ThrowsAsync<OrchestrationException>(async () => await runtime.EnsureReplicasAsync(api, 1));
            Assert.Equal(OrchestrationErrorKind.DeploymentFailed, tooEarly.Kind);
            Assert.Contains("ensure 'db' first", tooEarly.Message, StringComparison.Ordinal);

            await runtime.EnsureReplicasAsync(db, 1);
            await runtime.EnsureReplicasAsync(api, 1);

            var apiInstance = Assert.Single(await WaitForRunningAsync(runtime, api, 1));
            var call = await fixture.Client.ExecAsync(apiInstance.InstanceId, ["/bin/wget", "-q", "-O", "-", "http://db:8080/cgi-bin/version"]);
            Assert.Equal("version=db-1", call.Stdout.Trim());
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(deploymentId);
        }
    }

    [SkippableFact]
    public async Task A_named_volume_is_shared_by_the_replicas_of_a_component()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent() with
        {
            RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.VolumePrefix + "data"] = "/data" },
        });
        try
        {
            await runtime.EnsureReplicasAsync(revision, 2);
            var instances = await WaitForRunningAsync(runtime, revision, 2);

            var write = await fixture.Client.ExecAsync(instances[0].InstanceId, ["/bin/sh", "-c", "echo shared > /data/file"]);
            var read = await fixture.Client.ExecAsync(instances[1].InstanceId, ["/bin/cat", "/data/file"]);

            Assert.Equal(0, write.ExitCode);
            Assert.Equal("shared", read.Stdout.Trim());
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Removing_a_deployment_leaves_no_container_network_or_volume_behind()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var deploymentId = DockerEngineFixture.NewDeploymentId();
        var web = fixture.Revision(DockerEngineFixture.HttpComponent() with
        {
            RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.VolumePrefix + "data"] = "/data" },
        }, deploymentId: deploymentId);
        var worker = fixture.Revision(DockerEngineFixture.HttpComponent("worker"), deploymentId: deploymentId);
        await runtime.EnsureReplicasAsync(web, 2);
        await runtime.EnsureReplicasAsync(worker, 1);
        await runtime.EnsureReplicasAsync(web with { Revision = 2 }, 1);
        Assert.NotEmpty(await EngineObjectsAsync(deploymentId));

        await runtime.RemoveDeploymentAsync(deploymentId);
        await runtime.RemoveDeploymentAsync(deploymentId);

        Assert.Empty(await EngineObjectsAsync(deploymentId));
        Assert.Empty(await runtime.GetInstancesAsync(deploymentId));
    }

    [SkippableFact]
    public async Task A_restarted_runtime_reconciles_by_removing_the_leftovers_of_unknown_deployments_only()
    {
        await fixture.RequireEngineAsync();
        var live = fixture.Revision(DockerEngineFixture.HttpComponent());
        var orphan = fixture.Revision(DockerEngineFixture.HttpComponent() with
        {
            RuntimeSettings = new Dictionary<string, string> { [DockLockSettings.VolumePrefix + "data"] = "/data" },
        });
        var failed = fixture.Revision(DockerEngineFixture.HttpComponent() with { Command = new CommandSpec { FileName = "/bin/false" } });
        var otherOwner = fixture.Revision(DockerEngineFixture.HttpComponent()) with { OwnerId = fixture.NewOwnerId() };
        await using (var crashed = fixture.CreateRuntime())
        {
            await crashed.EnsureReplicasAsync(live, 1);
            await crashed.EnsureReplicasAsync(orphan, 2);
            await crashed.EnsureReplicasAsync(otherOwner, 1);
            await Assert.ThrowsAsync<ContainerStartupException>(async () => await crashed.EnsureReplicasAsync(failed, 1));
        }

        try
        {
            await using var restarted = fixture.CreateRuntime();
            var result = await restarted.ReconcileAsync(fixture.OwnerId, new HashSet<string> { live.DeploymentId });

            Assert.Equal(new[] { failed.DeploymentId, orphan.DeploymentId }.Order(StringComparer.Ordinal), result.RemovedDeployments);
            Assert.Equal(3, result.RemovedContainers);
            Assert.Equal(2, result.RemovedNetworks);
            Assert.Equal(1, result.RemovedVolumes);
            Assert.Empty(await EngineObjectsAsync(orphan.DeploymentId));
            Assert.Empty(await EngineObjectsAsync(failed.DeploymentId));
            Assert.Single(await restarted.GetInstancesAsync(live.DeploymentId));
            Assert.Single(await restarted.GetInstancesAsync(otherOwner.DeploymentId));

            var again = await restarted.ReconcileAsync(fixture.OwnerId, new HashSet<string> { live.DeploymentId });
            Assert.False(again.RemovedAnything);
        }
        finally
        {
            await using var cleanup = fixture.CreateRuntime();
            await cleanup.RemoveDeploymentAsync(live.DeploymentId);
            await cleanup.RemoveDeploymentAsync(otherOwner.DeploymentId);
        }
    }

    [SkippableFact]
    public async Task Owned_instances_are_listed_with_their_owner()
    {
        await fixture.RequireEngineAsync();
        await using var runtime = fixture.CreateRuntime();
        var revision = fixture.Revision(DockerEngineFixture.HttpComponent());
        try
        {
            await runtime.EnsureReplicasAsync(revision, 2);

            var owned = (await runtime.ListOwnedAsync()).Where(i => i.DeploymentId == revision.DeploymentId).ToList();

            Assert.Equal(2, owned.Count);
            Assert.All(owned, i => Assert.Equal(fixture.OwnerId, i.OwnerId));
        }
        finally
        {
            await runtime.RemoveDeploymentAsync(revision.DeploymentId);
        }
    }

    private async Task<List<string>> EngineObjectsAsync(string deploymentId)
    {
        var filter = new Dictionary<string, string?> { [WorkloadLabels.Deployment] = deploymentId };
        var containers = await fixture.Client.ListContainersAsync(filter, all: true);
        var networks = await fixture.Client.ListNetworksAsync(filter);
        var volumes = await fixture.Client.ListVolumesAsync(filter);
        return [.. containers.Select(c => "container " + c.ID), .. networks.Select(n => "network " + n.Name), .. volumes.Select(v => "volume " + v.Name)];
    }

    private static async Task<IReadOnlyList<WorkloadInstance>> WaitForRunningAsync(DockerWorkloadRuntime runtime, WorkloadRevision revision, int count) =>
        await Eventually.UntilAsync(
            async () => await runtime.GetInstancesAsync(revision.DeploymentId, revision.Component.Id, revision.Revision),
            instances => instances.Count == count && instances.All(i => i.State == InstanceState.Running && i.Endpoint is not null),
            $"{count} instance(s) of {revision.Component.Id} r{revision.Revision} run");
}
