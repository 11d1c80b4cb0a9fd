using System.Diagnostics;
using Xunit;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace MqttIm.Testing;

/// <summary>
/// A private PostgreSQL cluster for tests: <c>initdb</c> into a temp directory and <c>pg_ctl start</c> on a free
/// loopback port, stopped and deleted on dispose. initdb refuses to run as root, so as root the cluster belongs to the
/// <c>postgres</c> user the Debian package creates. Use one per test class (xunit class fixture) and
/// <see cref="CreateDatabaseAsync"/> for a fresh, empty database per test.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private const string Superuser = "mqttim";
    private string _directory = "";
    private string _binDirectory = "";
    private int _databases;

    public int Port { get; private set; }

    /// <summary>A connection string to the server's maintenance database.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={Superuser};Database={database};Pooling=true;Maximum Pool Size=20;Timeout=15;Command Timeout=30";

    public async Task InitializeAsync()
    {
        _binDirectory = FindBinDirectory();
        _directory = Path.Combine(Path.GetTempPath(), "mqttim-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        var dataDirectory = Path.Combine(_directory, "data");
        var asRoot = Environment.UserName == "root";
        if (asRoot)
        {
            await RunAsync("chown", $"-R postgres:postgres {_directory}");
        }

        await RunPgAsync(asRoot, "initdb", $"-D {dataDirectory} -U {Superuser} --auth=trust --encoding=UTF8 --no-sync");
        Port = FreePort();
        // fsync stays on: the crash tests count on PostgreSQL's own durability. Sockets only on loopback TCP.
        await RunPgAsync(asRoot, "pg_ctl",
            $"-D {dataDirectory} -l {Path.Combine(_directory, "server.log")} -w -t 60 " +
            $"-o \"-p {Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300 -c shared_buffers=64MB\" start");
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= $"t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async Task DisposeAsync()
    {
        if (Port != 0)
        {
            NpgsqlConnection.ClearAllPools();
            await RunPgAsync(Environment.UserName == "root", "pg_ctl", $"-D {Path.Combine(_directory, "data")} -m immediate -w stop", throwOnError: false);
        }

        if (_directory.Length > 0)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // a file still held by an exiting server process; the temp directory is cleaned eventually
            }
        }
    }

    private static string FindBinDirectory()
    {
        var fromPath = Environment.GetEnvironmentVariable("PG_BIN");
        if (!string.IsNullOrEmpty(fromPath) && File.Exists(Path.Combine(fromPath, "initdb")))
        {
            return fromPath;
        }

        // Debian puts the server binaries in /usr/lib/postgresql/{major}/bin, not on PATH.
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().ToList()
            : [];
        return candidates.FirstOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL server binaries not found (apt-get install postgresql); scripts/test.sh installs them.");
    }

    private Task RunPgAsync(bool asRoot, string tool, string arguments, bool throwOnError = true)
    {
        var executable = Path.Combine(_binDirectory, tool);
        return asRoot
            ? RunAsync("runuser", $"-u postgres -- {executable} {arguments}", throwOnError)
            : RunAsync(executable, arguments, throwOnError);
    }

    private static async Task RunAsync(string fileName, string arguments, bool throwOnError = true)
    {
        var info = new ProcessStartInfo(fileName, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0 && throwOnError)
        {
            throw new InvalidOperationException($"{fileName} {arguments} exited {process.ExitCode}: {await stdout}{await stderr}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
