// What makes node.exe Shop.exe, besides the injected blob: the Authenticode signature taken off
// first (injecting invalidates it, and postject warns about it), the shop's icon and version
// information put in last (resources written before postject make it report a corrupted relocation).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Where a PE file's certificate table entry lies: the 5th data directory of the optional header. */
function certificateEntry(exe) {
  if (exe.length < 64 || exe.toString('latin1', 0, 2) !== 'MZ') throw new Error('not a Windows executable (no MZ header)');
  const pe = exe.readUInt32LE(0x3c);
  if (exe.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error('not a Windows executable (no PE signature)');
  const optional = pe + 24;
  const magic = exe.readUInt16LE(optional);
  if (magic !== 0x20b && magic !== 0x10b) throw new Error(`unknown optional header magic 0x${magic.toString(16)}`);
  return optional + (magic === 0x20b ? 112 : 96) + 4 * 8;
}

/**
 * The executable without its signature: the certificate table (which sits at the end of the file,
 * outside every section) cut off and its directory entry cleared. An unsigned file comes back as it is.
 */
export function removeSignature(exe) {
  const entry = certificateEntry(exe);
  const offset = exe.readUInt32LE(entry);
  const size = exe.readUInt32LE(entry + 4);
  if (offset === 0 && size === 0) return exe;
  if (offset + size !== exe.length) throw new Error('the signature is not at the end of the file: cannot take it off');
  const unsigned = Buffer.from(exe.subarray(0, offset));
  unsigned.writeUInt32LE(0, entry);
  unsigned.writeUInt32LE(0, entry + 4);
  return unsigned;
}

export function isSigned(exe) {
  const entry = certificateEntry(exe);
  return exe.readUInt32LE(entry + 4) !== 0;
}

const english = { lang: 1033, codepage: 1200 };

/** The shop's icon (an .ico) in place of Node's, and version information naming the shop. */
export function brand(exe, { ico, productName, version, fileName, description }) {
  const ResEdit = require('resedit');
  const executable = ResEdit.NtExecutable.from(exe);
  const resources = ResEdit.NtExecutableResource.from(executable);
  const icons = ResEdit.Data.IconFile.from(ico).icons.map((icon) => icon.data);
  // Explorer shows the group with the lowest id: replace every group Node has with the shop's.
  const groups = ResEdit.Resource.IconGroupEntry.fromEntries(resources.entries);
  for (const group of groups.length ? groups : [{ id: 1, lang: english.lang }]) {
    ResEdit.Resource.IconGroupEntry.replaceIconsForResource(resources.entries, group.id, group.lang, icons);
  }
  const [info = ResEdit.Resource.VersionInfo.createEmpty()] = ResEdit.Resource.VersionInfo.fromEntries(resources.entries);
  const [major = 0, minor = 0, patch = 0] = version.split(/[.+-]/).map(Number);
  info.setFileVersion(major, minor, patch, 0, english.lang);
  info.setProductVersion(major, minor, patch, 0, english.lang);
  for (const lang of info.getAllLanguagesForStringValues()) if (lang.lang !== english.lang || lang.codepage !== english.codepage) info.removeAllStringValues(lang);
  info.setStringValues(english, {
    ProductName: productName,
    FileDescription: description,
    CompanyName: productName,
    ProductVersion: version,
    FileVersion: version,
    InternalName: productName,
    OriginalFilename: fileName,
    LegalCopyright: 'Includes Node.js, copyright Node.js contributors, MIT license',
  });
  info.outputToResourceEntries(resources.entries);
  resources.outputResource(executable);
  return Buffer.from(executable.generate());
}

const quad = (high, low) => [high >>> 16, high & 0xffff, low >>> 16, low & 0xffff].join('.');

/** The version information and icon sizes an executable carries, for checking a build. */
export function readBranding(exe) {
  const ResEdit = require('resedit');
  const resources = ResEdit.NtExecutableResource.from(ResEdit.NtExecutable.from(exe, { ignoreCert: true }));
  const [info] = ResEdit.Resource.VersionInfo.fromEntries(resources.entries);
  const [group] = ResEdit.Resource.IconGroupEntry.fromEntries(resources.entries);
  return {
    strings: info ? info.getStringValues(english) : {},
    fileVersion: info && quad(info.fixedInfo.fileVersionMS, info.fixedInfo.fileVersionLS),
    iconSizes: group ? group.icons.map((icon) => icon.width || 256) : [],
    resourceTypes: [...new Set(resources.entries.map((entry) => entry.type))],
  };
}
