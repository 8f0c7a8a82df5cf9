using System.Runtime.InteropServices;

namespace Bpi.Orchestration.State;

/// <summary>
/// Reads a file that a user or the state directory names, with two guarantees a plain <see cref="File.ReadAllBytes(string)"/>
/// lacks: only a regular file is opened (symbolic links are followed and the target is checked first, so a FIFO never
/// blocks the reader and <c>/dev/zero</c> is never read), and at most <c>maxBytes</c> are read. The CLI compiles this
/// same file in (linked), so both apply one rule.
/// </summary>
internal static class BoundedFile
{
    /// <summary>Reads the whole file, or throws.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">The most bytes accepted.</param>
    /// <param name="what">What the file is, for messages ("config file", "deployment record").</param>
    /// <exception cref="FileNotFoundException">Nothing exists at <paramref name="path"/> (or a symbolic link there dangles).</exception>
    /// <exception cref="OrchestrationException"><see cref="OrchestrationErrorKind.InvalidConfiguration"/>: the path is a
    /// directory, FIFO, socket or device, or the file is larger than <paramref name="maxBytes"/>.</exception>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var kind = KindOf(path);
        if (kind is not null)
        {
            throw new OrchestrationException(OrchestrationErrorKind.InvalidConfiguration, $"The {what} '{path}' is {kind}, not a regular file.");
        }

        using var stream = new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read | FileShare.Delete });
        if (stream.CanSeek && stream.Length > maxBytes)
        {
            throw TooLarge(path, maxBytes, what);
        }

        var buffer = new byte[(int)Math.Min(maxBytes + 1, stream.CanSeek ? stream.Length + 1 : maxBytes + 1)];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = stream.Read(buffer, total, buffer.Length - total);
            if (read == 0)
            {
                return buffer[..total];
            }

            total += read;
            if (total > maxBytes)
            {
                throw TooLarge(path, maxBytes, what);
            }

            if (total == buffer.Length)
            {
                // The file grew since its length was taken: read on, still within the cap.
                Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1, (long)buffer.Length * 2));
            }
        }

        return buffer[..total];
    }

    /// <summary>Reads the whole file as UTF-8 text (a byte order mark is dropped), or throws as <see cref="ReadAllBytes"/> does.</summary>
    public static string ReadAllText(string path, long maxBytes, string what)
    {
        var bytes = ReadAllBytes(path, maxBytes, what);
        var span = bytes.AsSpan();
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            span = span[3..];
        }

        return System.Text.Encoding.UTF8.GetString(span);
    }

    /// <summary>What the path is when it is not a regular file ("a directory", "a FIFO (named pipe)", …); <see langword="null"/> for a regular file.</summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path.</exception>
    public static string? KindOf(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            var mode = StatMode(path);
            return (mode & 0xF000) switch
            {
                0x8000 => null,
                0x4000 => "a directory",
                0x1000 => "a FIFO (named pipe)",
                0x2000 => "a character device",
                0x6000 => "a block device",
                0xC000 => "a socket",
                _ => "not a regular file",
            };
        }

        if (Directory.Exists(path))
        {
            return "a directory";
        }

        return File.Exists(path) ? null : throw new FileNotFoundException($"Could not find file '{path}'.", path);
    }

    private static OrchestrationException TooLarge(string path, long maxBytes, string what)
        => new(OrchestrationErrorKind.InvalidConfiguration, $"The {what} '{path}' is larger than {maxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)} bytes, the most accepted.");

    /// <summary>The <c>st_mode</c> of the file (symbolic links followed), through <c>statx(2)</c>, whose layout is the same on every Linux architecture.</summary>
    private static int StatMode(string path)
    {
        const int AtFdCwd = -100;
        const uint StatxType = 0x1;
        var name = Marshal.StringToCoTaskMemUTF8(path);
        var buffer = Marshal.AllocHGlobal(256);
        try
        {
            if (Statx(AtFdCwd, name, 0, StatxType, buffer) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                const int ENOENT = 2, ENOTDIR = 20, ELOOP = 40;
                if (errno is ENOENT or ENOTDIR or ELOOP)
                {
                    throw new FileNotFoundException($"Could not find file '{path}'.", path);
                }

                throw new IOException($"Cannot inspect '{path}': {Marshal.GetPInvokeErrorMessage(errno)}.", errno);
            }

            // struct statx: stx_mode is the __u16 at offset 28.
            return (ushort)Marshal.ReadInt16(buffer, 28);
        }
        finally
        {
            Marshal.FreeHGlobal(buffer);
            Marshal.FreeCoTaskMem(name);
        }
    }

    // A blittable DllImport (pointers only): no marshalling stub, so the project needs no unsafe code for LibraryImport.
    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int dirFd, nint path, int flags, uint mask, nint buffer);
}
