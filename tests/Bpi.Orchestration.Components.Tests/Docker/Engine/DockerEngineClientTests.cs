using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Bpi.Orchestration.Components.Docker;
using Bpi.Orchestration.Components.Docker.Engine;
using Docker.DotNet.Models;
using Bpi.Orchestration.Components.Docker.Engine.Streams;
using Bpi.Orchestration.Components.Tests.Infrastructure;
using Bpi.Orchestration.Runtime;

namespace Bpi.Orchestration.Components.Tests.Docker.Engine;

/// <summary>The Engine API client against the real engine.</summary>
[Collection(DockerEngineCollection.Name)]
public sealed class DockerEngineClientTests(DockerEngineFixture fixture)
{
    private DockerEngine Client => fixture.Client;

    [SkippableFact]
    public async Task Ping_version_and_info_describe_the_engine()
    {
        await fixture.RequireEngineAsync();

        var version = await Client.GetVersionAsync();
        var info = await Client.GetInfoAsync();

        Assert.True(DockerApiVersion.TryParse(version.APIVersion, out var engineMax));
        Assert.True(engineMax >= DockerApiVersion.MinimumSupported);
        Assert.Equal(DockerApiVersion.Min(engineMax, DockerApiVersion.MaximumSupported), await Client.GetApiVersionAsync());
        Assert.False(string.IsNullOrEmpty(version.Version));
        Assert.True(info.NCPU > 0);
        Assert.True(info.MemTotal > 0);
    }

    [SkippableFact]
    public async Task Images_imported_through_the_client_are_inspected_and_listed_with_their_config()
    {
        await fixture.RequireEngineAsync();

        var plain = await Client.InspectImageAsync(TestImages.Plain);
        var withHealthcheck = await Client.InspectImageAsync(TestImages.WithHealthcheck);
        var images = await Client.ListImagesAsync();

        Assert.Equal(["/bin/httpd", "-f", "-p", "8080", "-h", "/www"], plain.Config!.Cmd);
        Assert.Null(plain.Config.Healthcheck);
        Assert.Equal("CMD-SHELL", withHealthcheck.Config!.Healthcheck!.Test![0]);
        Assert.Equal(TimeSpan.FromSeconds(1), withHealthcheck.Config.Healthcheck.Interval);
        Assert.Contains(images, i => i.RepoTags?.Contains(TestImages.Plain) == true);
    }

    [SkippableFact]
    public async Task An_image_archive_is_loaded_and_a_missing_image_is_not_found()
    {
        await fixture.RequireEngineAsync();
        var tag = "bpi-test/loaded:" + Guid.NewGuid().ToString("N")[..8];
        using var archive = await BuildImageArchiveAsync(tag);

        var output = await Client.LoadImageAsync(archive);

        try
        {
            Assert.Contains(output, line => line.Contains(tag, StringComparison.Ordinal));
            var image = await Client.InspectImageAsync(tag);
            Assert.Equal(["/bin/true"], image.Config!.Cmd);
        }
        finally
        {
            await Client.RemoveImageAsync(tag, force: true);
        }

        var error = await Assert.ThrowsAsync<DockerEngineException>(() => Client.InspectImageAsync(tag));
        Assert.Equal(OrchestrationErrorKind.NotFound, error.Kind);
        Assert.Equal("image", error.ResourceKind);
    }

    [SkippableFact]
    public async Task A_container_goes_through_its_lifecycle_and_repeated_starts_and_stops_are_idempotent()
    {
        await fixture.RequireEngineAsync();
        var id = await CreateAsync(["/bin/sleep", "300"]);
        try
        {
            Assert.True(await Client.StartContainerAsync(id));
            Assert.False(await Client.StartContainerAsync(id));
            Assert.True((await Client.InspectContainerAsync(id)).State!.Running);

            await Client.KillContainerAsync(id, "SIGKILL");
            var wait = await Client.WaitContainerAsync(id);
            Assert.Equal(137, wait.StatusCode);

            Assert.False(await Client.StopContainerAsync(id, TimeSpan.FromSeconds(1)));
            var notRunning = await Assert.ThrowsAsync<DockerEngineException>(() => Client.KillContainerAsync(id));
            Assert.Equal(OrchestrationErrorKind.Conflict, notRunning.Kind);
        }
        finally
        {
            await Client.RemoveContainerAsync(id, force: true);
        }

        var gone = await Assert.ThrowsAsync<DockerEngineException>(() => Client.InspectContainerAsync(id));
        Assert.Equal(OrchestrationErrorKind.NotFound, gone.Kind);
        Assert.Equal("container", gone.ResourceKind);
    }

    [SkippableFact]
    public async Task Logs_of_a_container_without_a_tty_are_demultiplexed_into_stdout_and_stderr()
    {
        await fixture.RequireEngineAsync();
        var id = await CreateAsync(["/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2"]);
        try
        {
            await Client.StartContainerAsync(id);
            await Client.WaitContainerAsync(id);

            var lines = await CollectAsync(Client.StreamLogsAsync(id, timestamps: true));

            Assert.Equal(["out1", "out2"], lines.Where(l => l.Stream == DockerStreamKind.Stdout).Select(l => l.Text));
            Assert.Equal(["err1"], lines.Where(l => l.Stream == DockerStreamKind.Stderr).Select(l => l.Text));
            Assert.All(lines, l => Assert.NotNull(l.Timestamp));
        }
        finally
        {
            await Client.RemoveContainerAsync(id, force: true);
        }
    }

    [SkippableFact]
    public async Task Logs_of_a_container_with_a_tty_are_read_raw()
    {
        await fixture.RequireEngineAsync();
        var id = await CreateAsync(["/bin/sh", "-c", "echo out1; echo err1 >&2"], tty: true);
        try
        {
            await Client.StartContainerAsync(id);
            await Client.WaitContainerAsync(id);

            var lines = await CollectAsync(Client.StreamLogsAsync(id));

            Assert.Equal(["out1", "err1"], lines.Select(l => l.Text));
            Assert.All(lines, l => Assert.Equal(DockerStreamKind.Stdout, l.Stream));
        }
        finally
        {
            await Client.RemoveContainerAsync(id, force: true);
        }
    }

    [SkippableFact]
    public async Task Following_logs_streams_lines_as_they_are_written_until_the_container_stops()
    {
        await fixture.RequireEngineAsync();
        var id = await CreateAsync(["/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done"]);
        try
        {
            await Client.StartContainerAsync(id);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

            var lines = await CollectAsync(Client.StreamLogsAsync(id, follow: true, cancellationToken: timeout.Token));

            Assert.Equal(["line1", "line2", "line3", "line4", "line5"], lines.Select(l => l.Text));
        }
        finally
        {
            await Client.RemoveContainerAsync(id, force: true);
        }
    }

    [SkippableFact]
    public async Task Exec_returns_stdout_stderr_and_the_exit_code()
    {
        await fixture.RequireEngineAsync();
        var id = await CreateAsync(["/bin/sleep", "300"]);
        try
        {
            await Client.StartContainerAsync(id);

            var result = await Client.ExecAsync(id, ["/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"]);

            Assert.Equal(7, result.ExitCode);
            Assert.Equal("to-stdout\n", result.Stdout);
            Assert.Equal("to-stderr\n", result.Stderr);
            Assert.Contains("to-stdout\n", result.Output, StringComparison.Ordinal);
            Assert.Contains("to-stderr\n", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            await Client.RemoveContainerAsync(id, force: true);
        }
    }

    [SkippableFact]
    public async Task Stats_report_the_memory_limit_and_running_processes()
    {
        await fixture.RequireEngineAsync();
        var id = await CreateAsync(["/bin/sleep", "300"], memory: 48L * 1024 * 1024);
        try
        {
            await Client.StartContainerAsync(id);

            var stats = await Client.GetStatsAsync(id);

            Assert.Equal(48UL * 1024 * 1024, stats.MemoryStats!.Limit);
            Assert.True(stats.PidsStats!.Current >= 1);
            Assert.True(stats.CPUStats!.CPUUsage!.TotalUsage > 0);
        }
        finally
        {
            await Client.RemoveContainerAsync(id, force: true);
        }
    }

    [SkippableFact]
    public async Task Networks_are_created_listed_by_label_connected_and_removed()
    {
        await fixture.RequireEngineAsync();
        var name = "bpi-test-net-" + Guid.NewGuid().ToString("N")[..8];
        var labels = OwnerLabels();
        var networkId = await Client.CreateNetworkAsync(new NetworksCreateParameters { Name = name, Labels = labels });
        var containerId = await CreateAsync(["/bin/sleep", "300"]);
        try
        {
            var duplicate = await Assert.ThrowsAsync<DockerEngineException>(() => Client.CreateNetworkAsync(new NetworksCreateParameters { Name = name }));
            Assert.Equal(OrchestrationErrorKind.Conflict, duplicate.Kind);

            Assert.Contains(await Client.ListNetworksAsync(labels.ToDictionary(l => l.Key, l => (string?)l.Value)), n => n.ID == networkId);
            await Client.ConnectNetworkAsync(name, containerId, ["alias-one"]);
            await Client.StartContainerAsync(containerId);

            var network = await Client.InspectNetworkAsync(name);
            Assert.Equal(fixture.OwnerId, network.Labels![WorkloadLabels.Owner]);
            Assert.True(network.Containers!.ContainsKey(containerId));
            var endpoint = (await Client.InspectContainerAsync(containerId)).NetworkSettings!.Networks![name];
            Assert.Contains("alias-one", endpoint.Aliases!);
        }
        finally
        {
            await Client.RemoveContainerAsync(containerId, force: true);
            await Client.RemoveNetworkAsync(networkId);
        }

        var gone = await Assert.ThrowsAsync<DockerEngineException>(() => Client.InspectNetworkAsync(networkId));
        Assert.Equal(OrchestrationErrorKind.NotFound, gone.Kind);
        Assert.Equal("network", gone.ResourceKind);
    }

    [SkippableFact]
    public async Task Volumes_are_created_idempotently_listed_by_label_and_removed()
    {
        await fixture.RequireEngineAsync();
        var name = "bpi-test-vol-" + Guid.NewGuid().ToString("N")[..8];
        var labels = OwnerLabels();
        var filter = labels.ToDictionary(l => l.Key, l => (string?)l.Value);

        var created = await Client.CreateVolumeAsync(new VolumesCreateParameters { Name = name, Labels = labels });
        var again = await Client.CreateVolumeAsync(new VolumesCreateParameters { Name = name, Labels = labels });

        Assert.Equal(name, created.Name);
        Assert.Equal(created.Mountpoint, again.Mountpoint);
        Assert.Contains(await Client.ListVolumesAsync(filter), v => v.Name == name);

        await Client.RemoveVolumeAsync(name);

        Assert.DoesNotContain(await Client.ListVolumesAsync(filter), v => v.Name == name);
        var gone = await Assert.ThrowsAsync<DockerEngineException>(() => Client.RemoveVolumeAsync(name));
        Assert.Equal(OrchestrationErrorKind.NotFound, gone.Kind);
    }

    [SkippableFact]
    public async Task The_event_stream_reports_a_labelled_container_starting()
    {
        await fixture.RequireEngineAsync();
        var marker = Guid.NewGuid().ToString("N");
        var filter = new Dictionary<string, string?> { ["bpi.orchestration/test-marker"] = marker };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<string>();
        string? containerId = null;

        // Replay from a moment before the container is created, so no event can be missed.
        var since = DateTimeOffset.UtcNow.AddSeconds(-2);
        containerId = await CreateAsync(["/bin/true"], extraLabels: new() { ["bpi.orchestration/test-marker"] = marker });
        try
        {
            await Client.StartContainerAsync(containerId);
            await foreach (var message in Client.StreamEventsAsync(filter, since, cancellationToken: timeout.Token))
            {
                Assert.Equal(containerId, message.Actor!.ID);
                seen.Add(message.Action!);
                if (message.Action == "die")
                {
                    break;
                }
            }
        }
        finally
        {
            await Client.RemoveContainerAsync(containerId, force: true);
        }

        Assert.Equal(["create", "start", "die"], seen.Where(a => a is "create" or "start" or "die"));
    }

    private Dictionary<string, string> OwnerLabels() => new() { [WorkloadLabels.Owner] = fixture.OwnerId };

    private async Task<string> CreateAsync(IReadOnlyList<string> command, bool tty = false, long memory = 0, Dictionary<string, string>? extraLabels = null)
    {
        var labels = OwnerLabels();
        foreach (var (key, value) in extraLabels ?? [])
        {
            labels[key] = value;
        }

        var response = await Client.CreateContainerAsync(new CreateContainerParameters
        {
            Image = TestImages.Plain,
            Entrypoint = [command[0]],
            Cmd = command.Skip(1).ToList(),
            Tty = tty,
            Labels = labels,
            HostConfig = new HostConfig { Memory = memory, MemorySwap = memory, Init = true },
        });
        return response.ID;
    }

    private static async Task<List<T>> CollectAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>A <c>docker save</c> archive holding one image of one layer (just busybox's <c>true</c>).</summary>
    private static async Task<MemoryStream> BuildImageArchiveAsync(string tag)
    {
        using var layer = new MemoryStream();
        await using (var layerWriter = new TarWriter(layer, TarEntryFormat.Pax, leaveOpen: true))
        {
            await layerWriter.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "bin/") { Mode = (UnixFileMode)0b111_101_101 });
            await using var busybox = File.OpenRead("/bin/busybox");
            await layerWriter.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/true") { Mode = (UnixFileMode)0b111_101_101, DataStream = busybox });
        }

        var layerBytes = layer.ToArray();
        var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(layerBytes));
        var config = Encoding.UTF8.GetBytes($$$"""{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["{{{diffId}}}"]}}""");
        var configName = Convert.ToHexStringLower(SHA256.HashData(config)) + ".json";
        var manifest = Encoding.UTF8.GetBytes($$"""[{"Config":"{{configName}}","RepoTags":["{{tag}}"],"Layers":["layer/layer.tar"]}]""");

        var archive = new MemoryStream();
        await using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            await Add(writer, "layer/layer.tar", layerBytes);
            await Add(writer, configName, config);
            await Add(writer, "manifest.json", manifest);
        }

        archive.Position = 0;
        return archive;

        static async Task Add(TarWriter writer, string name, byte[] bytes)
        {
            using var data = new MemoryStream(bytes);
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0b110_100_100, DataStream = data });
        }
    }
}
