; Inno Setup script of the station for Windows warehouse PCs (Inno Setup 6).
;
; Build on Windows, in the repository:
;   py -3.11 -m venv .venv && .venv\Scripts\pip install -e .[dev]
;   .venv\Scripts\pyinstaller --noconfirm installer\packbench.spec      -> dist\packbench\
;   dist\packbench\packbench.exe --self-test                              -> must say "self-test passed"
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" installer\packbench.iss -> dist\PackBench-Setup-0.2.0.exe
;
; The program goes to Program Files; the station's data (store, station.toml, keys, logs, backups) to
; the per-user data dir PackBench itself uses (platformdirs: %LOCALAPPDATA%\PackBench\PackBench), which
; uninstalling keeps. The setup page asks for the scanner, scale and printer SPECs and writes them to
; station.toml there, unless one already exists (an update never overwrites a configured bench).
; tests/test_installer.py parses this file and checks it against the spec, the config and the CLI.

#define AppName "PackBench"
#define AppVersion "0.2.0"
#define AppExe "packbench.exe"
#define DataDir "{localappdata}\PackBench\PackBench"

[Setup]
AppId={{6B0E3C2A-4F1D-4E8B-9C41-2D7A5F3B8E10}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=PackBench
DefaultDirName={autopf}\PackBench
DefaultGroupName=PackBench
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\dist
OutputBaseFilename=PackBench-Setup-{#AppVersion}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\{#AppExe}

[Languages]
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"
Name: "english"; MessagesFile: "compiler:Default.isl"

[Files]
Source: "..\dist\packbench\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Dirs]
Name: "{#DataDir}"
Name: "{#DataDir}\backups"
Name: "{#DataDir}\logs"

[Icons]
Name: "{group}\PackBench 打包台"; Filename: "{app}\{#AppExe}"; Parameters: "gui"; WorkingDir: "{#DataDir}"
Name: "{group}\PackBench 演示 Demo"; Filename: "{app}\{#AppExe}"; Parameters: "gui --demo --data-dir ""{#DataDir}\demo"""; WorkingDir: "{#DataDir}"
Name: "{group}\PackBench 自检 Self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#AppExe}"" --self-test"; WorkingDir: "{#DataDir}"
Name: "{group}\PackBench 诊断 Doctor"; Filename: "{cmd}"; Parameters: "/k ""{app}\{#AppExe}"" doctor"; WorkingDir: "{#DataDir}"
Name: "{group}\PackBench 数据目录 Data folder"; Filename: "{#DataDir}"
Name: "{autodesktop}\PackBench"; Filename: "{app}\{#AppExe}"; Parameters: "gui"; WorkingDir: "{#DataDir}"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"

[Run]
Filename: "{app}\{#AppExe}"; Parameters: "--self-test"; StatusMsg: "Self-test 自检…"; Flags: runhidden waituntilterminated
Filename: "{app}\{#AppExe}"; Parameters: "gui"; Description: "{cm:LaunchProgram,PackBench}"; Flags: nowait postinstall skipifsilent

[Code]
var
  DevicesPage: TInputQueryWizardPage;

procedure InitializeWizard;
begin
  { The bench's devices, as PackBench SPECs (README: "Printer SPECs"). Empty = simulated (demo). }
  DevicesPage := CreateInputQueryPage(wpSelectDir,
    '扫码枪与打印机 Scanner and printer',
    '这台打包台连接的设备 The devices of this bench',
    '例如 e.g. scanner: serial:COM3?baud=9600 (empty: keyboard-wedge scanner); ' +
    'scale: serial:COM4?baud=9600; printer: tcp:192.168.1.50:9100?lang=zpl or serial:COM5?baud=19200&lang=tspl. ' +
    'No printer: the demo with simulated devices.');
  DevicesPage.Add('Scanner 扫码枪:', False);
  DevicesPage.Add('Scale 电子秤:', False);
  DevicesPage.Add('Printer 标签打印机:', False);
  DevicesPage.Add('Station id 工位编号 (e.g. HZ-01):', False);
  DevicesPage.Values[3] := 'BENCH-1';
end;

function TomlString(Value: String): String;
begin
  StringChangeEx(Value, '\', '\\', True);
  StringChangeEx(Value, '"', '\"', True);
  Result := '"' + Value + '"';
end;

procedure WriteStationConfig;
var
  Path, Scanner: String;
  Lines: TArrayOfString;
begin
  Path := ExpandConstant('{#DataDir}\station.toml');
  if FileExists(Path) then
    Exit;  { an update keeps the bench's configuration }
  if Trim(DevicesPage.Values[2]) = '' then begin
    { No printer given: the demo with simulated devices, until someone configures the bench. }
    SetArrayLength(Lines, 2);
    Lines[0] := '# Written by the PackBench installer: no printer was given, so the station runs its demo.';
    Lines[1] := 'demo = true';
  end else begin
    Scanner := Trim(DevicesPage.Values[0]);
    if Scanner = '' then
      Scanner := 'wedge';  { a keyboard-wedge scanner: the station window reads it }
    SetArrayLength(Lines, 5);
    Lines[0] := '# Written by the PackBench installer; see README "The command line" for every setting.';
    Lines[1] := 'station = ' + TomlString(Trim(DevicesPage.Values[3]));
    Lines[2] := 'scanner = ' + TomlString(Scanner);
    Lines[3] := 'scale = ' + TomlString(Trim(DevicesPage.Values[1]));
    Lines[4] := 'printer = ' + TomlString(Trim(DevicesPage.Values[2]));
  end;
  SaveStringsToUTF8File(Path, Lines, False);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
    WriteStationConfig;
end;
